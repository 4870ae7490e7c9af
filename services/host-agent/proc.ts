// Parsers for the kernel's own accounting files, read directly (no shelling out). Each takes the
// file's text and returns plain numbers; see proc(5) for the formats.

export interface CpuTimes {
  /** Jiffies spent busy (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** Jiffies spent idle or waiting for I/O. */
  idle: number;
}

/** /proc/stat: the "cpu" line (key "total") and one "cpuN" line per core (key "N"). */
export function parseStat(text: string): Map<string, CpuTimes> {
  const cpus = new Map<string, CpuTimes>();
  for (const line of text.split("\n")) {
    const match = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!match) continue;
    // user nice system idle iowait irq softirq steal [guest guest_nice — already in user/nice]
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
      match[2]!.trim().split(/\s+/).map(Number);
    cpus.set(match[1] === "" ? "total" : match[1]!, {
      busy: user + nice + system + irq + softirq + steal,
      idle: idle + iowait,
    });
  }
  return cpus;
}

/** /proc/loadavg: the 1, 5 and 15 minute load averages. */
export function parseLoadavg(text: string): [number, number, number] {
  const [one, five, fifteen] = text.trim().split(/\s+/).map(Number);
  return [one ?? NaN, five ?? NaN, fifteen ?? NaN];
}

/** /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?$/.exec(line.trim());
    if (match) values.set(match[1]!, Number(match[2]) * (line.includes("kB") ? 1024 : 1));
  }
  return values;
}

export interface DiskCounters {
  reads: number;
  writes: number;
  readBytes: number;
  writtenBytes: number;
}

/** /proc/diskstats; sectors are always 512 bytes there, whatever the device's sector size. */
export function parseDiskstats(text: string): Map<string, DiskCounters> {
  const disks = new Map<string, DiskCounters>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    disks.set(f[2]!, {
      reads: Number(f[3]),
      readBytes: Number(f[5]) * 512,
      writes: Number(f[7]),
      writtenBytes: Number(f[9]) * 512,
    });
  }
  return disks;
}

export interface NetCounters {
  receiveBytes: number;
  receivePackets: number;
  receiveErrors: number;
  receiveDrops: number;
  transmitBytes: number;
  transmitPackets: number;
  transmitErrors: number;
  transmitDrops: number;
}

/** /proc/net/dev: per interface, the receive and transmit counters. */
export function parseNetDev(text: string): Map<string, NetCounters> {
  const interfaces = new Map<string, NetCounters>();
  for (const line of text.split("\n").slice(2)) {
    const match = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!match) continue;
    const v = match[2]!.trim().split(/\s+/).map(Number);
    interfaces.set(match[1]!, {
      receiveBytes: v[0]!,
      receivePackets: v[1]!,
      receiveErrors: v[2]!,
      receiveDrops: v[3]!,
      transmitBytes: v[8]!,
      transmitPackets: v[9]!,
      transmitErrors: v[10]!,
      transmitDrops: v[11]!,
    });
  }
  return interfaces;
}

export interface Mount {
  device: string;
  mountpoint: string;
  fstype: string;
}

/** File systems that hold data; the kernel's pseudo file systems are left out. */
const PSEUDO =
  /^(proc|sysfs|devtmpfs|devpts|tmpfs|cgroup2?|securityfs|pstore|bpf|debugfs|tracefs|mqueue|hugetlbfs|fusectl|configfs|autofs|binfmt_misc|rpc_pipefs|nsfs|ramfs|squashfs|overlay|efivarfs|fuse\..*)$/;

/** /proc/mounts: octal escapes (\040 for a space) decoded; pseudo file systems dropped. */
export function parseMounts(text: string): Mount[] {
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  const mounts: Mount[] = [];
  const seen = new Set<string>();
  for (const line of text.split("\n")) {
    const [device, mountpoint, fstype] = line.split(" ");
    if (!device || !mountpoint || !fstype || PSEUDO.test(fstype)) continue;
    const point = decode(mountpoint);
    if (seen.has(point)) continue;
    seen.add(point);
    mounts.push({ device: decode(device), mountpoint: point, fstype });
  }
  return mounts;
}

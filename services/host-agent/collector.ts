// One collection of the host's metrics from /proc and /sys: gauges straight from the kernel,
// rates and CPU utilisation from the difference with the previous collection (so the first
// collection has no rates). `host` is on every sample, with the configured extra labels.
import { existsSync, readFileSync, readdirSync, statfsSync } from "node:fs";
import { join } from "node:path";
import type { MetricSample } from "../../schemas/types.js";
import {
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parseStat,
  type CpuTimes,
} from "./proc.js";
import { RateTracker } from "./rates.js";

export interface FsStats {
  blocks: number;
  bfree: number;
  bavail: number;
  bsize: number;
}

export interface CollectorOptions {
  host: string;
  labels?: Record<string, string>;
  procRoot?: string;
  sysRoot?: string;
  now?: () => number;
  statfs?: (path: string) => FsStats;
}

const VIRTUAL_DISK = /^(loop|ram|zram|fd)\d*$/;

export function createCollector(options: CollectorOptions) {
  const proc = options.procRoot ?? "/proc";
  const sys = options.sysRoot ?? "/sys";
  const now = options.now ?? Date.now;
  const statfs = options.statfs ?? ((path: string) => statfsSync(path));
  const base = { ...options.labels, host: options.host };
  const rates = new RateTracker();
  let previousCpu = new Map<string, CpuTimes>();

  return function collect(): MetricSample[] {
    const at = now();
    const samples: MetricSample[] = [];
    const read = (file: string) => readFileSync(join(proc, file), "utf8");
    const gauge = (
      name: string,
      value: number,
      unit: string,
      labels: Record<string, string> = {},
    ) =>
      samples.push({
        name,
        value,
        timestamp: at,
        labels: { ...labels, ...base },
        type: "gauge",
        unit,
        startTimestamp: null,
      });
    const seen = new Set<string>();
    const rate = (
      name: string,
      key: string,
      counter: number,
      unit: string,
      labels: Record<string, string>,
    ) => {
      const id = `${name}|${key}`;
      seen.add(id);
      const value = rates.rate(id, counter, at);
      if (value !== undefined) gauge(name, value, unit, labels);
    };

    const cpus = parseStat(read("stat"));
    for (const [cpu, times] of cpus) {
      const before = previousCpu.get(cpu);
      const total = before ? times.busy + times.idle - (before.busy + before.idle) : 0;
      if (before && total > 0)
        gauge(
          "cpu_used_percent",
          Math.min(100, Math.max(0, (100 * (times.busy - before.busy)) / total)),
          "percent",
          { cpu },
        );
    }
    previousCpu = cpus;

    const [one, five, fifteen] = parseLoadavg(read("loadavg"));
    gauge("load_average_1m", one, "");
    gauge("load_average_5m", five, "");
    gauge("load_average_15m", fifteen, "");

    const mem = parseMeminfo(read("meminfo"));
    const memTotal = mem.get("MemTotal") ?? 0;
    const memAvailable = mem.get("MemAvailable") ?? mem.get("MemFree") ?? 0;
    gauge("memory_total_bytes", memTotal, "bytes");
    gauge("memory_available_bytes", memAvailable, "bytes");
    if (memTotal > 0)
      gauge("memory_used_percent", (100 * (memTotal - memAvailable)) / memTotal, "percent");
    const swapTotal = mem.get("SwapTotal") ?? 0;
    gauge("swap_total_bytes", swapTotal, "bytes");
    gauge(
      "swap_used_percent",
      swapTotal > 0 ? (100 * (swapTotal - (mem.get("SwapFree") ?? 0))) / swapTotal : 0,
      "percent",
    );

    const wholeDisks = new Set(
      existsSync(join(sys, "block")) ? readdirSync(join(sys, "block")) : [],
    );
    for (const [device, d] of parseDiskstats(read("diskstats"))) {
      if (!wholeDisks.has(device) || VIRTUAL_DISK.test(device)) continue;
      const labels = { device };
      rate("disk_reads_per_second", device, d.reads, "ops", labels);
      rate("disk_writes_per_second", device, d.writes, "ops", labels);
      rate("disk_read_bytes_per_second", device, d.readBytes, "bytes", labels);
      rate("disk_written_bytes_per_second", device, d.writtenBytes, "bytes", labels);
    }

    for (const [iface, n] of parseNetDev(read("net/dev"))) {
      const labels = { interface: iface };
      for (const [key, value] of Object.entries(n)) {
        const [direction, what] = key.startsWith("receive")
          ? ["receive", key.slice(7)]
          : ["transmit", key.slice(8)];
        rate(
          `network_${direction}_${what.toLowerCase()}_per_second`,
          iface,
          value,
          what === "Bytes" ? "bytes" : "",
          labels,
        );
      }
    }
    rates.retain(seen);

    for (const mount of parseMounts(read("mounts"))) {
      let fs: FsStats;
      try {
        fs = statfs(mount.mountpoint);
      } catch {
        continue; // unmounted since, or not ours to read
      }
      const used = fs.blocks - fs.bfree;
      if (fs.blocks === 0 || used + fs.bavail === 0) continue;
      const labels = { mountpoint: mount.mountpoint, device: mount.device, fstype: mount.fstype };
      gauge("filesystem_size_bytes", fs.blocks * fs.bsize, "bytes", labels);
      gauge("filesystem_available_bytes", fs.bavail * fs.bsize, "bytes", labels);
      // As df computes it: the root-reserved blocks count neither as used nor as available.
      gauge("filesystem_used_percent", (100 * used) / (used + fs.bavail), "percent", labels);
    }
    return samples;
  };
}

// The kernel log, read directly — no dmesg or journalctl run — in either of its two forms:
//
//   /dev/kmsg:  "<prio>,<seq>,<µs since boot>,<flags>[,…];<message>\n" then " KEY=value\n" lines;
//               each read(2) returns one record; EAGAIN at the end (opened non-blocking); EPIPE
//               when the ring buffer overwrote records we had not read (counted as lost).
//   journald's export format (journalctl -o export, systemd-journal-remote's input): entries of
//               "FIELD=value\n" lines ended by an empty line; a binary field is "FIELD\n", its
//               length as 64-bit little-endian, the bytes and "\n".
//
// Records are read from where the last run stopped (kmsg sequence number with the boot id, or the
// journal's cursor), kept in a small checkpoint file, so a restart neither repeats nor misses a
// line such as an Xid.
import { closeSync, constants, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import type { LogSeverity } from "../../schemas/types.js";

export interface KernelRecord {
  /** Event time, ms since the epoch. */
  timestamp: number;
  /** syslog level 0 (emerg) … 7 (debug). */
  level: number;
  message: string;
  /** Where this record is in its source: resumes after it. */
  position: string;
}

const LEVELS: LogSeverity[] = ["fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug"];
export const severityOfLevel = (level: number): LogSeverity => LEVELS[level] ?? "unknown";

/** One /dev/kmsg record; undefined for text that is not one. `bootTime`: ms since the epoch. */
export function parseKmsgRecord(text: string, bootTime: number, bootId = "") {
  const semicolon = text.indexOf(";");
  if (semicolon < 0) return undefined;
  const [prio, seq, micros] = text.slice(0, semicolon).split(",");
  const level = Number(prio) & 7;
  if (!/^\d+$/.test(prio ?? "") || !/^\d+$/.test(seq ?? "") || !/^\d+$/.test(micros ?? ""))
    return undefined;
  const [first = "", ...rest] = text.slice(semicolon + 1).split("\n");
  const dict: Record<string, string> = {};
  for (const line of rest) {
    if (!line.startsWith(" ")) continue;
    const eq = line.indexOf("=");
    if (eq > 1) dict[line.slice(1, eq)] = line.slice(eq + 1);
  }
  return {
    timestamp: Math.round(bootTime + Number(micros) / 1000),
    level,
    message: unescapeKmsg(first),
    position: `${bootId}:${seq}`,
    sequence: Number(seq),
    dict,
  };
}

/** kmsg escapes non-printable bytes as \xNN. */
const unescapeKmsg = (text: string) =>
  text.replace(/\\x([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** The entries of journald's export format in `bytes`, and how many bytes they took. */
export function parseJournalExport(bytes: Buffer): {
  entries: Record<string, string>[];
  consumed: number;
} {
  const entries: Record<string, string>[] = [];
  let at = 0;
  let consumed = 0;
  let entry: Record<string, string> = {};
  while (at < bytes.length) {
    const nl = bytes.indexOf(10, at);
    if (nl < 0) break;
    if (nl === at) {
      // an empty line ends the entry
      if (Object.keys(entry).length > 0) entries.push(entry);
      entry = {};
      at = nl + 1;
      consumed = at;
      continue;
    }
    const line = bytes.subarray(at, nl).toString("utf8");
    const eq = line.indexOf("=");
    if (eq >= 0) {
      entry[line.slice(0, eq)] = line.slice(eq + 1);
      at = nl + 1;
      continue;
    }
    // binary field: name, then a little-endian 64-bit length, the data and a newline
    if (nl + 9 > bytes.length) break;
    const length = Number(bytes.readBigUInt64LE(nl + 1));
    const end = nl + 9 + length;
    if (end + 1 > bytes.length) break;
    entry[line] = bytes.subarray(nl + 9, end).toString("utf8");
    at = end + 1;
  }
  return { entries, consumed };
}

/** A journal entry as a kernel record; undefined when it is not from the kernel. */
export function journalRecord(entry: Record<string, string>): KernelRecord | undefined {
  if (entry._TRANSPORT !== undefined && entry._TRANSPORT !== "kernel") return undefined;
  const realtime = Number(entry.__REALTIME_TIMESTAMP);
  if (!Number.isFinite(realtime) || entry.MESSAGE === undefined) return undefined;
  return {
    timestamp: Math.round(realtime / 1000),
    level: Number(entry.PRIORITY ?? 6) & 7,
    message: entry.MESSAGE,
    position: entry.__CURSOR ?? String(realtime),
  };
}

export interface KernelLogSource {
  /** Records written since the last call (at most `max`). */
  read(max: number): KernelRecord[];
  /** Records the kernel overwrote before they were read. */
  lost: number;
  close(): void;
}

const CHUNK = 64 * 1024;

/**
 * /dev/kmsg (or a file of its records, as the tests' stand-in): resumes after `after`
 * ("<boot id>:<seq>"); without it, starts at the records written from now on.
 */
export function kmsgSource(
  path: string,
  options: { bootTime: number; bootId: string; after?: string },
): KernelLogSource {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const [afterBoot, afterSeq] = (options.after ?? "").split(":");
  let last = afterBoot === options.bootId && afterSeq ? Number(afterSeq) : undefined;
  const buffer = Buffer.alloc(CHUNK);
  let pending = "";
  let first = last === undefined;
  const source: KernelLogSource = {
    lost: 0,
    read(max) {
      const out: KernelRecord[] = [];
      while (out.length < max) {
        let n: number;
        try {
          n = readSync(fd, buffer, 0, CHUNK, null);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === "EPIPE") continue; // overwritten records: the next read returns the oldest left
          if (code === "EAGAIN") break;
          throw error;
        }
        if (n === 0) break;
        pending += buffer.toString("utf8", 0, n);
        // a device read is one record; a file holds many: records start at a line not indented
        const parts = pending.split(/\n(?! )/);
        pending = parts.pop() ?? "";
        for (const text of parts) {
          const record = parseKmsgRecord(text, options.bootTime, options.bootId);
          if (!record) continue;
          if (last !== undefined && record.sequence <= last) continue;
          if (last !== undefined && record.sequence > last + 1)
            source.lost += record.sequence - last - 1;
          last = record.sequence;
          if (!first) out.push(record);
        }
      }
      first = false; // what was in the ring before the first run is history, not news
      return out;
    },
    close: () => closeSync(fd),
  };
  if (first) source.read(Number.MAX_SAFE_INTEGER);
  return source;
}

/** A file of journald's export format, appended to; resumes after the cursor `after`. */
export function journalExportSource(path: string, after?: string): KernelLogSource {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let offset = 0;
  let skipping = after !== undefined;
  const buffer = Buffer.alloc(CHUNK);
  let pending = Buffer.alloc(0);
  return {
    lost: 0,
    // Bounded by bytes (256 KiB a read) rather than records: entries are parsed a chunk at a time.
    read(_max) {
      const out: KernelRecord[] = [];
      for (;;) {
        const n = readSync(fd, buffer, 0, CHUNK, offset);
        if (n === 0) break;
        offset += n;
        pending = Buffer.concat([pending, buffer.subarray(0, n)]);
        if (pending.length > CHUNK * 4) break; // the rest next time: memory stays bounded
      }
      const { entries, consumed } = parseJournalExport(pending);
      pending = pending.subarray(consumed);
      const caughtUp = pending.length === 0 && entries.length > 0;
      for (const entry of entries) {
        if (skipping) {
          if (entry.__CURSOR === after) skipping = false;
          continue;
        }
        const record = journalRecord(entry);
        if (record) out.push(record);
      }
      // a cursor no longer in the file (the journal was rotated): read on from here
      if (caughtUp) skipping = false;
      return out;
    },
    close: () => closeSync(fd),
  };
}

/** Boot time (ms since the epoch) and boot id, from /proc. */
export function bootOf(procRoot: string, now: number): { bootTime: number; bootId: string } {
  const uptime = Number(readFileSync(`${procRoot}/uptime`, "utf8").split(" ")[0]);
  let bootId = "";
  try {
    bootId = readFileSync(`${procRoot}/sys/kernel/random/boot_id`, "utf8").trim();
  } catch {
    // not every /proc has it: a reboot is then told by the sequence going back
  }
  return { bootTime: now - uptime * 1000, bootId };
}

export const readCheckpoint = (file: string | undefined): string | undefined => {
  if (!file) return undefined;
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
};

export const writeCheckpoint = (file: string | undefined, position: string): void => {
  if (file) writeFileSync(file, `${position}\n`);
};

// The edge buffer: what an agent or ingest could not hand to Kafka is kept on local disk, in
// order, and handed over when Kafka is back — so a network partition does not lose the telemetry
// that explains it. A send goes straight to Kafka while nothing is buffered; once a send fails
// (Kafka unreachable), it and every later send are appended to the buffer (fsync'd before the
// send returns) and one drain loop hands the oldest entry to Kafka until the buffer is empty.
//
// On disk: segment files of length- and CRC-framed entries (one entry: one send's records) and a
// cursor naming the first entry not yet acknowledged; a restart resumes from the cursor (an entry
// acknowledged but not yet past the cursor when the process died is sent again: at least once, as
// everywhere in Vigil). Bounded in bytes and age: the oldest entries are dropped first, and
// counted, only when a bound is hit.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { permanentProduceError } from "./kafka-errors.js";
import type { Logger } from "./logger.js";
import type { ServiceMetrics } from "./metrics.js";
import type { OutboundRecord, OutputProducer } from "./producer.js";

export interface EdgeBufferOptions {
  dir: string;
  maxBytes: number;
  /** Entries older than this (ms) are dropped, not sent. */
  maxAge: number;
  /** A new segment file once the current one passes this size. */
  segmentBytes?: number;
  /** Wait between attempts while Kafka does not take the oldest entry. */
  retryEvery?: number;
  /**
   * How long a send waits on Kafka before its records are kept on disk (the send then returns,
   * so an agent's next collection is not held up by a Kafka that is going away).
   */
  directWait?: number;
  now?: () => number;
  metrics: ServiceMetrics;
  logger: Logger;
}

interface Entry {
  segment: number;
  offset: number;
  bytes: number;
  at: number;
  count: number;
  /** A direct send still under way when the entry was kept: true once Kafka acknowledged it. */
  inFlight?: Promise<boolean>;
}

const HEADER = 8; // u32 length, u32 crc32 of the payload
const segmentName = (n: number) => `${String(n).padStart(12, "0")}.seg`;

interface StoredRecord {
  t: string;
  k: string | null;
  v: string | null;
  p?: number;
  h?: Record<string, string>;
}

const b64 = (b: Buffer | string | null) =>
  b === null ? null : (typeof b === "string" ? Buffer.from(b) : b).toString("base64");

function store(records: OutboundRecord[]): StoredRecord[] {
  return records.map((r) => ({
    t: r.topic,
    k: b64(r.key),
    v: b64(r.value),
    ...(r.partition !== undefined && { p: r.partition }),
    ...(r.headers && {
      h: Object.fromEntries(Object.entries(r.headers).map(([n, v]) => [n, b64(v)!])),
    }),
  }));
}

function restore(stored: StoredRecord[]): OutboundRecord[] {
  const buf = (s: string | null) => (s === null ? null : Buffer.from(s, "base64"));
  return stored.map((r) => ({
    topic: r.t,
    key: buf(r.k),
    value: buf(r.v),
    ...(r.p !== undefined && { partition: r.p }),
    ...(r.h && {
      headers: Object.fromEntries(Object.entries(r.h).map(([n, v]) => [n, buf(v)!])),
    }),
  }));
}

export interface BufferedProducer extends OutputProducer {
  /** Records waiting on disk. */
  pending(): number;
}

/**
 * `inner` with the edge buffer in front. `connect` never fails for want of Kafka: an agent starts,
 * collects and buffers while Kafka is away, and connects when it can.
 */
export function bufferedProducer(
  inner: OutputProducer,
  options: EdgeBufferOptions,
): BufferedProducer {
  const { dir, maxBytes, maxAge, metrics, logger } = options;
  const segmentBytes = options.segmentBytes ?? 8 * 2 ** 20;
  const retryEvery = options.retryEvery ?? 1_000;
  const directWait = options.directWait ?? 1_000;
  const now = options.now ?? Date.now;
  mkdirSync(dir, { recursive: true });
  const cursorFile = join(dir, "cursor.json");
  const entries: Entry[] = [];
  let bytes = 0;
  let records = 0;
  let tail = 0; // the segment appended to
  let tailSize = 0;
  let connected = false;
  let stopped = false;
  let draining: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  // Recover: every intact entry at or past the cursor, in segment order.
  const cursor = existsSync(cursorFile)
    ? (JSON.parse(readFileSync(cursorFile, "utf8")) as { segment: number; offset: number })
    : { segment: 0, offset: 0 };
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith(".seg"))
    .sort()) {
    const segment = Number(name.slice(0, -4));
    const data = readFileSync(join(dir, name));
    let offset = 0;
    while (offset + HEADER <= data.length) {
      const length = data.readUInt32BE(offset);
      const end = offset + HEADER + length;
      if (
        end > data.length ||
        crc32(data.subarray(offset + HEADER, end)) !== data.readUInt32BE(offset + 4)
      )
        break; // a torn write at the tail: the process died mid-append, before acknowledging it
      const live =
        segment > cursor.segment || (segment === cursor.segment && offset >= cursor.offset);
      if (live) {
        const { at, records: list } = JSON.parse(
          data.subarray(offset + HEADER, end).toString(),
        ) as {
          at: number;
          records: StoredRecord[];
        };
        entries.push({ segment, offset, bytes: end - offset, at, count: list.length });
        bytes += end - offset;
        records += list.length;
      }
      offset = end;
    }
    if (offset < data.length) writeFileSync(join(dir, name), data.subarray(0, offset));
    tail = segment;
    tailSize = offset;
  }
  if (entries.length > 0)
    logger.info({ records, bytes }, "edge buffer: resuming with what was kept on disk");

  function saveCursor() {
    const head = entries[0];
    const next = head
      ? { segment: head.segment, offset: head.offset }
      : { segment: tail, offset: tailSize };
    writeFileSync(`${cursorFile}.tmp`, JSON.stringify(next));
    renameSync(`${cursorFile}.tmp`, cursorFile);
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".seg")))
      if (Number(name.slice(0, -4)) < next.segment) rmSync(join(dir, name), { force: true });
  }

  function dropHead(reason: string) {
    const head = entries.shift()!;
    bytes -= head.bytes;
    records -= head.count;
    metrics.dropped.inc({ reason }, head.count);
  }

  function append(list: OutboundRecord[], inFlight?: Promise<boolean>) {
    const payload = Buffer.from(JSON.stringify({ at: now(), records: store(list) }));
    const frame = Buffer.alloc(HEADER);
    frame.writeUInt32BE(payload.length, 0);
    frame.writeUInt32BE(crc32(payload), 4);
    if (tailSize >= segmentBytes || tail === 0) {
      tail = Math.max(tail, entries.at(-1)?.segment ?? 0) + 1;
      tailSize = 0;
    }
    const fd = openSync(join(dir, segmentName(tail)), "a");
    try {
      writeSync(fd, frame);
      writeSync(fd, payload);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    entries.push({
      segment: tail,
      offset: tailSize,
      bytes: HEADER + payload.length,
      at: now(),
      count: list.length,
      ...(inFlight && { inFlight }),
    });
    tailSize += HEADER + payload.length;
    bytes += HEADER + payload.length;
    records += list.length;
    let dropped = false;
    while (bytes > maxBytes && entries.length > 1) {
      dropHead("edge_buffer_full");
      dropped = true;
    }
    if (dropped) saveCursor();
    metrics.edgeBuffered.set(records);
    startDrain();
  }

  function read(entry: Entry): OutboundRecord[] {
    const fd = openSync(join(dir, segmentName(entry.segment)), "r");
    try {
      const data = Buffer.alloc(entry.bytes - HEADER);
      readSync(fd, data, 0, data.length, entry.offset + HEADER);
      return restore((JSON.parse(data.toString()) as { records: StoredRecord[] }).records);
    } finally {
      closeSync(fd);
    }
  }

  const pause = (ms: number) =>
    new Promise<void>((done) => {
      const timer = setTimeout(done, ms);
      wake = () => (clearTimeout(timer), done());
    });

  let connecting: Promise<void> | undefined;
  /** One connection attempt at a time, shared by whoever needs it. */
  async function ensureConnected() {
    if (connected) return;
    connecting ??= inner
      .connect()
      .then(() => void (connected = true))
      .finally(() => (connecting = undefined));
    await connecting;
  }

  function startDrain() {
    draining ??= (async () => {
      while (!stopped && entries.length > 0) {
        const head = entries[0]!;
        if (head.inFlight) {
          // Kept while its direct send was under way: that send decides.
          const acknowledged = await head.inFlight;
          delete head.inFlight;
          if (acknowledged && entries[0] === head) {
            entries.shift();
            bytes -= head.bytes;
            records -= head.count;
            saveCursor();
            metrics.edgeBuffered.set(records);
          }
          continue;
        }
        if (head.at < now() - maxAge) {
          dropHead("edge_buffer_expired");
          saveCursor();
          continue;
        }
        try {
          await ensureConnected();
          await inner.send(read(head));
        } catch (error) {
          if (permanentProduceError(error)) {
            logger.error({ err: error }, "edge buffer: Kafka refuses an entry; dropped");
            dropHead("edge_buffer_refused");
            saveCursor();
            continue;
          }
          logger.warn({ err: error, pending: records }, "edge buffer: Kafka still unreachable");
          await pause(retryEvery);
          continue;
        }
        entries.shift();
        bytes -= head.bytes;
        records -= head.count;
        saveCursor();
        metrics.edgeBuffered.set(records);
      }
      if (entries.length === 0 && !stopped) logger.info("edge buffer: drained");
    })().finally(() => {
      draining = undefined;
      if (!stopped && entries.length > 0) startDrain();
    });
  }

  if (entries.length > 0) startDrain();

  return {
    pending: () => records,
    async connect() {
      // Not awaited: a service starts (and collects, and buffers) while Kafka is away.
      ensureConnected().catch((error: unknown) =>
        logger.warn({ err: error }, "edge buffer: Kafka unreachable at start; buffering"),
      );
    },
    async send(list) {
      if (entries.length > 0) return append(list); // behind what waits, to keep the order
      const direct = (async () => {
        await ensureConnected();
        await inner.send(list);
      })();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        direct.then(
          () => "sent" as const,
          (error: unknown) => error,
        ),
        new Promise<"slow">((done) => (timer = setTimeout(() => done("slow"), directWait))),
      ]).finally(() => clearTimeout(timer));
      if (outcome === "sent") return;
      if (outcome === "slow") {
        // Kept now, so the caller goes on; dropped from the buffer if Kafka acknowledges after all.
        append(
          list,
          direct.then(
            () => true,
            () => false,
          ),
        );
        return;
      }
      if (permanentProduceError(outcome)) throw outcome;
      logger.warn({ err: outcome }, "edge buffer: Kafka unreachable; buffering on disk");
      append(list);
    },
    async disconnect() {
      stopped = true;
      wake?.();
      await draining;
      await inner.disconnect().catch(() => undefined);
    },
  };
}

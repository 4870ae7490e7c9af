// The log shipper: tails files by glob (and optionally stdin), joins multi-line records, parses
// them into log events and ships them to Kafka in transactions that also carry each file's
// checkpoint — so rotation (rename or copytruncate), restarts and kill -9 neither lose nor repeat
// a line. Reading waits while a transaction is outstanding: a slow Kafka pauses the shipper and
// memory stays within one poll's reads.
import { appendTo } from "../chassis/group.js";
import { createInterface } from "node:readline";
import { encode } from "../../schemas/codec.js";
import type { LogEvent, ShipperCheckpoint } from "../../schemas/types.js";
import { loadConfig } from "../chassis/config.js";
import { every } from "../chassis/periodic.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import type { OutboundRecord } from "../chassis/producer.js";
import { transactionalWriter } from "../chassis/transactions.js";
import { checkpointRecord, loadCheckpoints } from "./checkpoints.js";
import { toEvent } from "./events.js";
import { FileTail, expandGlob, fileIdOf, type Line } from "./files.js";
import { MultilineJoiner, type MultilineRule } from "./multiline.js";
import { shipperSettings, type ShipperSettings } from "./settings.js";

interface Tracked {
  tail: FileTail;
  joiner: MultilineJoiner;
  /** Record key: one path's lines stay in order on one partition. */
  key: string;
  lastActive: number;
}

interface Shipment {
  batches: Map<string, LogEvent[]>;
  checkpoints: ShipperCheckpoint[];
}

const CLOSE_ROTATED_AFTER_MS = 5_000;

export async function startShipper(
  settings: ShipperSettings,
  now: () => number = Date.now,
): Promise<Service> {
  const cfg = settings.shipper;
  let ready = false;
  const service = await startService({
    name: settings.service ?? "log-shipper",
    settings,
    now,
    notReady: () => (ready ? undefined : "restoring checkpoints"),
  });
  const { logger, metrics } = service;
  const rule: MultilineRule = { ...cfg.multiline, flushAfterMs: cfg.multiline.flushAfter };
  // First the transactional id (fencing an earlier instance, aborting its open transaction), then
  // the checkpoints, which are final by then.
  const writer = await transactionalWriter(service.kafka, `vigil-log-shipper-${cfg.id}`, metrics);
  const checkpoints = await loadCheckpoints(service.kafka, cfg.checkpointTopic, cfg.id);
  logger.info({ files: checkpoints.size }, "checkpoints restored");

  const tracked = new Map<string, Tracked>();
  const stdinLines: Line[] = [];
  const stdinJoiner = new MultilineJoiner(rule);
  if (cfg.stdin) {
    const reader = createInterface({ input: process.stdin });
    reader.on("line", (text) => {
      stdinLines.push({ bytes: Buffer.from(text), end: 0 });
      if (stdinLines.length >= 10_000) process.stdin.pause(); // resumed once shipped
    });
  }

  function discover(): void {
    for (const pattern of cfg.paths) {
      for (const path of expandGlob(pattern)) {
        const id = fileIdOf(path);
        if (id === undefined) continue;
        const known = tracked.get(id);
        if (known) {
          known.tail.path = path; // renamed by rotation: same file, read on from where we were
          continue;
        }
        try {
          const tail = new FileTail(id, path, checkpoints.get(id)?.offset ?? 0);
          tracked.set(id, {
            tail,
            joiner: new MultilineJoiner(rule),
            key: `${cfg.host}:${path}`,
            lastActive: now(),
          });
        } catch (error) {
          logger.warn({ err: error, path }, "cannot open file; will try again");
        }
      }
    }
  }

  function gather(): Shipment {
    const at = now();
    const shipment: Shipment = { batches: new Map(), checkpoints: [] };
    const add = (key: string, event: LogEvent) => appendTo(shipment.batches, key, event);
    for (const [id, file] of tracked) {
      const { lines, truncated } = file.tail.read(cfg.maxReadBytes);
      if (truncated)
        logger.info(
          { path: file.tail.path },
          "file truncated (copytruncate); reading from its start",
        );
      if (lines.length > 0) file.lastActive = at;
      const records = [...file.joiner.push(lines, at), ...file.joiner.flush(at)];
      for (const record of records) {
        const event = toEvent(
          record.bytes,
          { host: cfg.host, service: cfg.service, file: file.tail.path },
          at,
        );
        if (event.attributes.encoding_error)
          metrics.dropped.inc({ reason: "shipper_invalid_utf8_replaced" });
        add(file.key, event);
      }
      const last = records[records.length - 1];
      if (last)
        shipment.checkpoints.push({
          shipper: cfg.id,
          fileId: id,
          path: file.tail.path,
          offset: last.end,
          time: at,
        });
    }
    const fromStdin = [...stdinJoiner.push(stdinLines.splice(0), at), ...stdinJoiner.flush(at)];
    for (const record of fromStdin)
      add(
        `${cfg.host}:stdin`,
        toEvent(record.bytes, { host: cfg.host, service: cfg.service, file: "-" }, at),
      );
    if (cfg.stdin && process.stdin.isPaused()) process.stdin.resume();
    return shipment;
  }

  async function ship(shipment: Shipment): Promise<void> {
    const records: OutboundRecord[] = [];
    for (const [key, events] of shipment.batches)
      for (let i = 0; i < events.length; i += cfg.eventsPerRecord)
        records.push({
          topic: cfg.topic,
          key,
          value: encode("log-batch", {
            source: `log-shipper/${cfg.id}`,
            events: events.slice(i, i + cfg.eventsPerRecord),
          }),
        });
    for (const checkpoint of shipment.checkpoints)
      records.push(checkpointRecord(cfg.checkpointTopic, checkpoint));
    await writer.commit(records);
    for (const c of shipment.checkpoints) checkpoints.set(c.fileId, c);
  }

  function closeRotated(): void {
    for (const [id, file] of tracked) {
      if (
        fileIdOf(file.tail.path) === id ||
        !file.tail.atEnd() ||
        now() - file.lastActive < CLOSE_ROTATED_AFTER_MS
      )
        continue;
      file.tail.close();
      tracked.delete(id);
      logger.info({ path: file.tail.path }, "rotated file shipped to its end; closed");
    }
  }

  // A shipment that failed is retried as it is before anything more is read.
  let unsent: Shipment | undefined;
  const poll = async () => {
    try {
      if (!unsent) {
        discover();
        const shipment = gather();
        if (shipment.batches.size === 0 && shipment.checkpoints.length === 0) return closeRotated();
        unsent = shipment;
      }
      await ship(unsent);
      unsent = undefined;
      closeRotated();
    } catch (error) {
      metrics.retries.inc({ stage: "ship" });
      logger.warn({ err: error }, "shipping failed; retrying the same lines");
    }
  };
  ready = true;
  const loop = every(cfg.pollInterval, poll, now);

  const stop = service.stop;
  return {
    ...service,
    stop: async () => {
      await loop.stop();
      if (unsent) await ship(unsent).catch(() => undefined);
      for (const file of tracked.values()) file.tail.close();
      await writer.close();
      await stop();
    },
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(shipperSettings);
  await runMain(() => startShipper(settings), settings.shutdown.deadline);
}

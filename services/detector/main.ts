// The detector: reads metric batches (clean and aggregated), evaluates the rules on every sample
// and publishes alert events — state changes, and re-sends of what keeps firing — keyed by
// fingerprint on the alert topic.
//
// Exactly once, across kill -9 and rebalances: for each batch of a partition, the alert events,
// the alerts' latest state (compacted topic) and a snapshot of the partition's engine (with the
// last input offset it covers) are written in ONE Kafka transaction. Readers of the alert topic
// read committed records only, so a crash either published all of a batch's events with the
// state that knows they were sent, or none of them. Input redelivered after a crash is skipped
// up to the snapshot's offset; a restarted detector neither resets `for` timers nor fires or
// resolves anything twice.
import { CompressionTypes, type Producer } from "kafkajs";
import PQueue from "p-queue";
import { decode, encode } from "../../schemas/codec.js";
import type { Alert, MetricBatch } from "../../schemas/types.js";
import { partitionStates, snapshotRecord } from "../../pipelines/state.js";
import { loadConfig } from "../chassis/config.js";
import { createBatchConsumer, type BatchConsumer, type BatchHandler } from "../chassis/consumer.js";
import { RetryableError } from "../chassis/errors.js";
import { every } from "../chassis/periodic.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { consumerSettings } from "../chassis/settings.js";
import { DetectionEngine } from "./engine.js";
import { detectorSettings, type DetectorSettings } from "./settings.js";

interface PartitionEngine {
  engine: DetectionEngine;
  /** The last input offset whose effects the engine holds. */
  lastOffset: number;
}

export async function startDetector(
  settings: DetectorSettings,
  now: () => number = Date.now,
): Promise<Service> {
  const cfg = settings.detector;
  const owner = `detector:${cfg.name}`;
  const rules = cfg.rules.rules;
  const holder: { consumer?: BatchConsumer } = {};
  const service = await startService({
    name: settings.service ?? "detector",
    settings,
    now,
    notReady: () => holder.consumer?.notReady(),
  });
  const { logger, metrics } = service;
  const count = (reason: string, n = 1) => metrics.dropped.inc({ reason: `detector:${reason}` }, n);
  const engines = partitionStates<PartitionEngine>({
    kafka: service.kafka,
    changelog: cfg.changelog,
    owner,
    stateful: true,
    assignment: () => holder.consumer?.assignment() ?? new Set(),
    create: (saved) => {
      const engine = new DetectionEngine(rules, {
        resendEvery: cfg.resendEvery,
        maxTracks: cfg.maxTracks,
        count,
      });
      if (saved) engine.restore(JSON.parse(saved.steps));
      return { engine, lastOffset: saved?.lastOffset ?? -1 };
    },
    onRestore: (topic, partition, saved) =>
      logger.info({ topic, partition, lastOffset: saved.lastOffset }, "detector state restored"),
  });

  const producer: Producer = service.kafka.producer({
    transactionalId: `vigil-detector-${cfg.name}-${cfg.instance}`,
    idempotent: true,
    maxInFlightRequests: 1,
    // A transaction begun right after the previous commit is often told CONCURRENT_TRANSACTIONS
    // while the broker writes the markers: retry within milliseconds, not kafkajs's 300 ms.
    retry: { initialRetryTime: 10, maxRetryTime: 2_000, retries: 30 },
  });
  await producer.connect();
  // Snapshots are repetitive JSON: gzip takes them down to about a tenth.
  const compression = CompressionTypes.GZIP;
  // One transaction at a time: batches and ticks take turns.
  const turns = new PQueue({ concurrency: 1 });

  async function publish(
    topic: string,
    partition: number,
    state: PartitionEngine,
    events: Alert[],
  ) {
    const transaction = await producer.transaction();
    try {
      if (events.length > 0) {
        const messages = events.map((e) => ({ key: e.fingerprint, value: encode("alert", e) }));
        await transaction.send({ topic: cfg.output, acks: -1, compression, messages });
        const changes = messages.filter((_, i) => !events[i]!.resend);
        if (changes.length > 0)
          await transaction.send({ topic: cfg.state, acks: -1, compression, messages: changes });
      }
      const snapshot = snapshotRecord(
        cfg.changelog,
        owner,
        topic,
        partition,
        state.lastOffset,
        state.engine.snapshot(),
        now(),
      );
      await transaction.send({ topic: cfg.changelog, acks: -1, compression, messages: [snapshot] });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      // The engines hold effects that were not published: start again from the changelog.
      engines.reset();
      throw new RetryableError(`publishing alert events failed: ${(error as Error).message}`);
    }
    for (const e of events)
      metrics.alertEvents.inc({ rule: e.rule, status: e.resend ? "resend" : e.status });
    metrics.recordsOut.inc({ topic: cfg.output }, events.length);
  }

  const handler: BatchHandler<MetricBatch> = (records, { topic, partition, heartbeat }) =>
    turns.add(async () => {
      const state = await engines.get(topic, partition, heartbeat);
      const events: Alert[] = [];
      let fresh = false;
      for (const record of records) {
        const offset = Number(record.offset);
        if (offset <= state.lastOffset) {
          count("already_in_state");
          continue; // its effects are in the restored state already
        }
        state.lastOffset = offset;
        fresh = true;
        events.push(...state.engine.observe(record.decoded.samples, now()));
      }
      if (fresh) await publish(topic, partition, state, events);
      metrics.alertTracks.set({ topic, partition: String(partition) }, state.engine.size);
      return {};
    });

  const consumer = createBatchConsumer<MetricBatch>({
    kafka: service.kafka,
    producer: service.producer,
    settings: consumerSettings.parse({
      groupId: `vigil-detector-${cfg.name}`,
      topics: cfg.inputs,
      sessionTimeout: cfg.sessionTimeout,
    }),
    deadLetterTopic: settings.topics.deadLetter,
    decode: (_topic, value) => decode("metric-batch", value),
    handler,
    metrics,
    logger,
    now,
  });
  holder.consumer = consumer;
  await consumer.start();

  const ticker = every(
    cfg.tick,
    () =>
      turns.add(async () => {
        for (const { topic, partition, state } of engines.all()) {
          const before = state.engine.size;
          const events = state.engine.tick(now());
          if (events.length === 0 && state.engine.size === before) continue;
          try {
            await publish(topic, partition, state, events);
          } catch (error) {
            logger.error(
              { err: error, topic, partition },
              "publishing what the tick found failed; retried next tick",
            );
            return;
          }
        }
      }),
    now,
  );
  logger.info({ rules: rules.length, files: cfg.rules.paths }, "detector started");

  const stop = service.stop;
  return {
    ...service,
    stop: async () => {
      await ticker.stop();
      await consumer.stop();
      await turns.onIdle();
      await producer.disconnect();
      await stop();
    },
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(detectorSettings);
  await runMain(() => startDetector(settings), settings.shutdown.deadline);
}

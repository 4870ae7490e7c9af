// The detector: reads metric batches (clean and aggregated), evaluates the rules on every sample
// and publishes alert events — state changes, and re-sends of what keeps firing — keyed by
// fingerprint on the alert topic.
//
// A stateful stage of the chassis (consumer group vigil-detector-<name>): one task per input
// partition number, whose engine keeps its tracks (rule × series) in a keyed store. For each batch
// the alert events, the alerts' latest state (compacted topic), the tracks that changed
// (changelog vigil-detector-<name>-changelog) and the input offsets go out in ONE Kafka
// transaction; readers of the alert topic read committed records only. So a crash either
// published all of a batch's events with the state that knows they were sent, or none of them; a
// restarted or rebalanced detector neither resets `for` timers nor fires or resolves twice.
// Its inputs are keyed so that a series stays on one partition: clean by source, aggregates by
// series labels.
import { decode, encode } from "../../schemas/codec.js";
import type { Alert, LogBatch, MetricBatch } from "../../schemas/types.js";
import { loadConfig } from "../chassis/config.js";
import type { OutboundRecord } from "../chassis/producer.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { createStatefulStage, type StatefulStage } from "../chassis/stateful-stage.js";
import { DetectionEngine, type Track } from "./engine.js";
import { trackCodec } from "./track-codec.js";
import { detectorSettings, type DetectorSettings } from "./settings.js";

export async function startDetector(
  settings: DetectorSettings,
  now: () => number = Date.now,
): Promise<Service> {
  const cfg = settings.detector;
  const rules = cfg.rules.rules;
  const groupId = `vigil-detector-${cfg.name}`;
  const holder: { stage?: StatefulStage } = {};
  const service = await startService({
    name: settings.service ?? "detector",
    settings,
    now,
    notReady: () => (holder.stage ? holder.stage.notReady() : "starting the stage"),
  });
  const { logger, metrics } = service;
  const count = (reason: string, n = 1) => metrics.dropped.inc({ reason: `detector:${reason}` }, n);

  /** The alert events as records: every event on the alert topic, state changes on the state topic. */
  function published(events: Alert[]): OutboundRecord[] {
    const records: OutboundRecord[] = [];
    for (const e of events) {
      const value = encode("alert", e);
      records.push({ topic: cfg.output, key: e.fingerprint, value });
      if (!e.resend) records.push({ topic: cfg.state, key: e.fingerprint, value });
      metrics.alertEvents.inc({ rule: e.rule, status: e.resend ? "resend" : e.status });
    }
    return records;
  }

  // Log topics only when a rule counts log events, and only those that exist: a deployment
  // without logs still runs its metric rules (said once, at start).
  const logTopics = new Set<string>();
  if (rules.some((r) => r.logs) && cfg.logInputs.length > 0) {
    const admin = service.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      for (const topic of cfg.logInputs) if (existing.has(topic)) logTopics.add(topic);
    } finally {
      await admin.disconnect();
    }
    const missing = cfg.logInputs.filter((t) => !logTopics.has(t));
    if (missing.length > 0)
      logger.warn(
        { topics: missing, rules: rules.filter((r) => r.logs).map((r) => r.name) },
        "log topics missing: log rules see no events from them until they exist and the detector restarts",
      );
  }
  type Input = { metrics: MetricBatch } | { logs: LogBatch };
  const stage = createStatefulStage<Input, DetectionEngine>({
    service,
    name: "detector",
    groupId,
    topics: [...cfg.inputs, ...logTopics],
    changelog: cfg.changelog ?? `${groupId}-changelog`,
    deadLetterTopic: settings.topics.deadLetter,
    processing: cfg.processing,
    sessionTimeout: cfg.sessionTimeout,
    decode: (topic, value) =>
      logTopics.has(topic)
        ? { logs: decode("log-batch", value) }
        : { metrics: decode("metric-batch", value) },
    open: (stores) =>
      new DetectionEngine(
        rules,
        { resendEvery: cfg.resendEvery, maxTracks: cfg.maxTracks, count },
        stores.store<Track>("tracks", trackCodec),
      ),
    process: (engine, records, { partition, now: at }) => {
      const events: Alert[] = [];
      for (const { decoded } of records)
        events.push(
          ...("logs" in decoded
            ? engine.observeLogs(decoded.logs.events, at)
            : engine.observe(decoded.metrics.samples, at)),
        );
      metrics.alertTracks.set({ topic: "all", partition: String(partition) }, engine.size);
      return { outputs: published(events) };
    },
    tick: { every: cfg.tick, run: (engine, { now: at }) => published(engine.tick(at)) },
    size: (engine) => engine.size,
    now,
  });
  holder.stage = stage;
  await stage.start();
  logger.info({ rules: rules.length, files: cfg.rules.paths }, "detector started");

  const stop = service.stop;
  return {
    ...service,
    stop: async () => {
      await stage.stop();
      await stop();
    },
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(detectorSettings);
  await runMain(() => startDetector(settings), settings.shutdown.deadline);
}

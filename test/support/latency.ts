// The shared ground of the tests of alerts on aggregated series: the topics of a p99 pipeline and
// a detector, a paced stream of request latencies (live sources: minute m is sent once the
// pipeline has re-keyed minute m-1), and the offline single-instance recompute to compare with.
import type { Admin, Kafka, Producer } from "kafkajs";
import { buildChain, runChain, type StepConfig } from "../../pipelines/chain.js";
import { decode, encode } from "../../schemas/codec.js";
import type { Alert, MetricSample } from "../../schemas/types.js";
import { DetectionEngine } from "../../services/detector/engine.js";
import { detectorSettings } from "../../services/detector/settings.js";
import { committedTotal, createTopics, readTopic, type ReadRecord, waitFor } from "./kafka.js";

export interface StreamTopics {
  clean: string;
  aggregated: string;
  repartition: string;
  late: string;
  alerts: string;
  state: string;
  dlq: string;
}

/** Every topic with 6 partitions, as shipped. */
export async function streamTopics(admin: Admin, prefix: string): Promise<StreamTopics> {
  const names = ["clean", "aggregated", "repartition", "late", "alerts", "state", "dlq"] as const;
  const created = await createTopics(admin, 6, ...names.map((n) => `${prefix}-${n}`));
  return Object.fromEntries(names.map((n, i) => [n, created[i]!])) as unknown as StreamTopics;
}

export type Records = { key: string; samples: MetricSample[] }[];

/** Request latencies of `host` of `service` in minute m: four samples, 15 s apart. */
export function latencies(service: string, host: string, m: number, value: number): MetricSample[] {
  return Array.from({ length: 4 }, (_, i) => ({
    name: "http_request_duration_seconds",
    value,
    timestamp: Date.parse("2026-11-25T10:00:00Z") + m * 60_000 + i * 15_000,
    labels: { service, host },
    type: "gauge",
    unit: "seconds",
    startTimestamp: null,
  }));
}

/**
 * Sends minutes [from, to) to the clean topic, each once the pipeline's re-keying stage has
 * committed everything before it, as sources that keep time together would arrive.
 */
export async function paced(
  producer: Producer,
  admin: Admin,
  topics: StreamTopics,
  pipeline: string,
  minute: (m: number) => Records,
  from: number,
  to: number,
): Promise<void> {
  for (let m = from; m < to; m++) {
    const records = minute(m);
    const before = await committedTotal(
      admin,
      `vigil-pipeline-${pipeline}-repartition`,
      topics.clean,
    );
    await producer.send({
      topic: topics.clean,
      acks: -1,
      messages: records.map((r) => ({
        key: r.key,
        value: encode("metric-batch", { source: r.key, samples: r.samples }),
      })),
    });
    await waitFor(
      `minute ${m} re-keyed`,
      async () =>
        (await committedTotal(admin, `vigil-pipeline-${pipeline}-repartition`, topics.clean)) ===
        before + records.length,
      60_000,
    );
  }
}

/**
 * One instance, offline: per re-keyed partition, in its order, one window operator; one engine
 * with the built-in pack over what the windows emit.
 */
export function offlineRecompute(regrouped: ReadRecord[], steps: StepConfig[]) {
  const engine = new DetectionEngine(detectorSettings.parse({}).detector.rules.rules, {
    resendEvery: Infinity,
    maxTracks: 100_000,
  });
  const aggregates: MetricSample[] = [];
  const events: Alert[] = [];
  for (const partition of new Set(regrouped.map((r) => r.partition))) {
    const chain = buildChain(steps);
    for (const record of regrouped.filter((r) => r.partition === partition)) {
      const out = runChain(chain, decode("metric-batch", record.value).samples, Date.now);
      aggregates.push(...out.samples);
      events.push(...engine.observe(out.samples, Date.now()));
    }
  }
  return { aggregates, events };
}

/** An alert event as compared: everything but when it was sent. */
export const comparable = (e: Alert) => ({ ...e, sentAt: 0 });

/** The alert events on `topic` that are not re-sends. */
export async function alertEvents(kafka: Kafka, topic: string): Promise<Alert[]> {
  return (await readTopic(kafka, topic))
    .map((r) => decode("alert", r.value))
    .filter((e) => !e.resend);
}

// Alerts on aggregated series are right once a series' records come from every partition: the
// shipped p99 pipeline re-keys by group before its windows, its aggregates are keyed by series, so
// the detector sees each series whole, on one partition, in order — whichever of several
// instances owns it. 30 minutes of event time of a constantly breaching p99 fire HttpLatencyHigh
// once and resolve it once, event for event as one engine run offline over the same data.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { buildChain, runChain, type StepConfig } from "../../../pipelines/chain.js";
import { pipelineSettings } from "../../../pipelines/config.js";
import { startPipelines } from "../../../pipelines/service.js";
import { decode, encode } from "../../../schemas/codec.js";
import type { Alert, MetricSample } from "../../../schemas/types.js";
import type { Service } from "../../../services/chassis/service.js";
import { DetectionEngine } from "../../../services/detector/engine.js";
import { startDetector } from "../../../services/detector/main.js";
import { detectorSettings } from "../../../services/detector/settings.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import {
  committedTotal,
  consumedAll,
  createTopics,
  readTopic,
  waitFor,
} from "../../support/kafka.js";
import { chassisFor } from "../../support/services.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-25T10:00:00Z");
const MINUTE = 60_000;
const HOSTS = Array.from({ length: 12 }, (_, i) => `api-${i}`);

/** The p99 pipeline as shipped (Compose and Kubernetes configure the same one). */
function shippedP99(): { name: string; processors: StepConfig[] } {
  const file = new URL("../../../deploy/compose/config/pipelines.yaml", import.meta.url);
  const { pipelines } = parseYaml(readFileSync(file, "utf8")) as {
    pipelines: { name: string; processors: Record<string, unknown>[] }[];
  };
  const p99 = pipelines.find((p) => p.name === "latency-p99")!;
  return {
    name: p99.name,
    processors: p99.processors.map((step) => {
      const [name, config] = Object.entries(step)[0]!;
      return { name, config };
    }),
  };
}

/** Minute m of the stream: every host's request latencies, 0.8 s while breaching, 0.1 s after. */
function minute(m: number, breachUntil: number) {
  return HOSTS.map((host, h) => ({
    key: host,
    samples: Array.from({ length: 4 }, (_, i): MetricSample => ({
      name: "http_request_duration_seconds",
      value: m < breachUntil ? 0.8 + h / 1000 : 0.1,
      timestamp: T0 + m * MINUTE + i * 15_000,
      labels: { service: "api", host },
      type: "gauge",
      unit: "seconds",
      startTimestamp: null,
    })),
  }));
}

const comparable = (e: Alert) => ({ ...e, sentAt: 0 });

describe("alerts on aggregated series", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("fire HttpLatencyHigh once at `for` and resolve it once, as a single engine offline, across partitions and instances", async () => {
    const [clean, aggregated, repartition, late, alerts, state, dlq] = await createTopics(
      admin,
      6,
      "agg-clean",
      "agg-aggregated",
      "agg-repartition",
      "agg-late",
      "agg-alerts",
      "agg-state",
      "agg-dlq",
    );
    const shipped = shippedP99();
    const pipelineName = uniqueName("latency-p99");
    const detectorName = uniqueName("det");
    const pipelines = () =>
      startPipelines(
        pipelineSettings.parse({
          ...chassisFor(endpoint, dlq),
          pipelines: [
            {
              name: pipelineName,
              inputs: [clean],
              output: aggregated,
              late,
              repartition,
              outputKey: "series",
              sessionTimeout: "10s",
              processors: shipped.processors.map((s) => ({ [s.name]: s.config })),
            },
          ],
        }),
      );
    const detector = () =>
      startDetector(
        detectorSettings.parse({
          ...chassisFor(endpoint, dlq),
          detector: {
            name: detectorName,
            inputs: [clean, aggregated],
            output: alerts,
            state,
            sessionTimeout: "10s",
          },
        }),
      );
    // Two instances of each: the tasks (partitions) are shared between them.
    const services: Service[] = [
      await pipelines(),
      await pipelines(),
      await detector(),
      await detector(),
    ];
    const producer = kafka.producer();
    await producer.connect();
    try {
      // Sources that keep time together: minute m is sent once the pipeline has taken minute m-1,
      // as live sources would (a replayed backlog would be late beyond `allowedLateness`).
      for (let m = 0; m < 40; m++) {
        await producer.send({
          topic: clean!,
          acks: -1,
          messages: minute(m, 30).map((r) => ({
            key: r.key,
            value: encode("metric-batch", { source: r.key, samples: r.samples }),
          })),
        });
        await waitFor(
          `minute ${m} re-keyed`,
          async () =>
            (await committedTotal(admin, `vigil-pipeline-${pipelineName}-repartition`, clean!)) ===
            (m + 1) * HOSTS.length,
          30_000,
        );
      }
      const latencyEvents = async () =>
        (await readTopic(kafka, alerts!))
          .map((r) => decode("alert", r.value))
          .filter((e) => e.rule === "HttpLatencyHigh" && !e.resend);
      await waitFor(
        "HttpLatencyHigh resolved",
        async () => (await latencyEvents()).some((e) => e.status === "resolved"),
        90_000,
      );
      await waitFor(
        "the detector through every aggregate",
        async () => consumedAll(admin, kafka, `vigil-detector-${detectorName}`, aggregated!),
        30_000,
      );
    } finally {
      await producer.disconnect();
      await Promise.all(services.map((s) => s.stop()));
    }

    // Offline: one window operator over the group's samples in the order its partition holds
    // them, one engine over what it emits.
    const regrouped = await readTopic(kafka, repartition!);
    expect(new Set(regrouped.map((r) => r.partition)).size).toBe(1); // one group, one partition
    const [window] = buildChain(shipped.processors);
    const engine = new DetectionEngine(detectorSettings.parse({}).detector.rules.rules, {
      resendEvery: Infinity,
      maxTracks: 1_000,
    });
    const offlineAggregates: MetricSample[] = [];
    const offline: Alert[] = [];
    for (const record of regrouped) {
      const out = runChain([window!], decode("metric-batch", record.value).samples, Date.now);
      offlineAggregates.push(...out.samples);
      offline.push(...engine.observe(out.samples, Date.now()));
    }
    const online = (await readTopic(kafka, alerts!))
      .map((r) => decode("alert", r.value))
      .filter((e) => !e.resend);

    // Every aggregate written once, on one partition per series, equal to the offline ones.
    const written = await readTopic(kafka, aggregated!);
    const p99Partitions = new Set(
      written
        .filter((r) => decode("metric-batch", r.value).samples.some((x) => x.name.endsWith("_p99")))
        .map((r) => r.partition),
    );
    expect(p99Partitions.size).toBe(1);
    // (The idle timeout may have closed the last windows too, after all input.)
    const flat = written.flatMap((r) => decode("metric-batch", r.value).samples);
    expect(flat.slice(0, offlineAggregates.length)).toEqual(offlineAggregates);
    expect(await readTopic(kafka, late!)).toEqual([]);

    const latency = online.filter((e) => e.rule === "HttpLatencyHigh");
    expect(latency.map((e) => e.status)).toEqual(["firing", "resolved"]);
    expect(latency.map(comparable)).toEqual(
      offline.filter((e) => e.rule === "HttpLatencyHigh").map(comparable),
    );
    // The breach began at the end of the first window holding a breaching sample.
    expect(latency[0]!.startsAt).toBe(T0 + MINUTE);
  }, 180_000);
});

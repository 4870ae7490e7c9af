// Alerts on aggregated series are right once a series' records come from every partition: the
// shipped p99 pipeline re-keys by group before its windows, its aggregates are keyed by series, so
// the detector sees each series whole, on one partition, in order — whichever of several
// instances owns it. 30 minutes of event time of a constantly breaching p99 fire HttpLatencyHigh
// once and resolve it once, event for event as one engine run offline over the same data.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { StepConfig } from "../../../pipelines/chain.js";
import { pipelineSettings } from "../../../pipelines/config.js";
import { startPipelines } from "../../../pipelines/service.js";
import { decode } from "../../../schemas/codec.js";
import type { Service } from "../../../services/chassis/service.js";
import { startDetector } from "../../../services/detector/main.js";
import { detectorSettings } from "../../../services/detector/settings.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { consumedAll, readTopic, waitFor } from "../../support/kafka.js";
import {
  alertEvents,
  comparable,
  latencies,
  offlineRecompute,
  paced,
  streamTopics,
} from "../../support/latency.js";
import { chassisFor } from "../../support/services.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-25T10:00:00Z");
const HOSTS = Array.from({ length: 12 }, (_, i) => `api-${i}`);

/** The p99 pipeline as shipped (Compose and Kubernetes configure the same one). */
function shippedP99(): StepConfig[] {
  const file = new URL("../../../deploy/compose/config/pipelines.yaml", import.meta.url);
  const { pipelines } = parseYaml(readFileSync(file, "utf8")) as {
    pipelines: { name: string; processors: Record<string, unknown>[] }[];
  };
  return pipelines
    .find((p) => p.name === "latency-p99")!
    .processors.map((step) => {
      const [name, config] = Object.entries(step)[0]!;
      return { name, config };
    });
}

/** Minute m: every host's request latencies, 0.8 s for the first 30 minutes, 0.1 s after. */
const minute = (m: number) =>
  HOSTS.map((host, h) => ({
    key: host,
    samples: latencies("api", host, m, m < 30 ? 0.8 + h / 1000 : 0.1),
  }));

describe("alerts on aggregated series", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("fire HttpLatencyHigh once at `for` and resolve it once, as a single engine offline, across partitions and instances", async () => {
    const topics = await streamTopics(admin, "agg");
    const steps = shippedP99();
    const pipelineName = uniqueName("latency-p99");
    const detectorName = uniqueName("det");
    const pipelines = () =>
      startPipelines(
        pipelineSettings.parse({
          ...chassisFor(endpoint, topics.dlq),
          pipelines: [
            {
              name: pipelineName,
              inputs: [topics.clean],
              output: topics.aggregated,
              late: topics.late,
              repartition: topics.repartition,
              outputKey: "series",
              sessionTimeout: "10s",
              processors: steps.map((s) => ({ [s.name]: s.config })),
            },
          ],
        }),
      );
    const detector = () =>
      startDetector(
        detectorSettings.parse({
          ...chassisFor(endpoint, topics.dlq),
          detector: {
            name: detectorName,
            inputs: [topics.clean, topics.aggregated],
            // Its own topics only: the default pack's log rules would read the catalogue's log topic.
            logInputs: [],
            output: topics.alerts,
            state: topics.state,
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
      await paced(producer, admin, topics, pipelineName, minute, 0, 40);
      await waitFor(
        "HttpLatencyHigh resolved",
        async () =>
          (await alertEvents(kafka, topics.alerts)).some(
            (e) => e.rule === "HttpLatencyHigh" && e.status === "resolved",
          ),
        90_000,
      );
      await waitFor(
        "the detector through every aggregate",
        async () => consumedAll(admin, kafka, `vigil-detector-${detectorName}`, topics.aggregated),
        30_000,
      );
    } finally {
      await producer.disconnect();
      await Promise.all(services.map((s) => s.stop()));
    }

    const regrouped = await readTopic(kafka, topics.repartition);
    expect(new Set(regrouped.map((r) => r.partition)).size).toBe(1); // one group, one partition
    const offline = offlineRecompute(regrouped, steps);

    // Every aggregate written once, one series on one partition, equal to the offline ones.
    const written = await readTopic(kafka, topics.aggregated);
    const p99Partitions = new Set(
      written
        .filter((r) => decode("metric-batch", r.value).samples.some((x) => x.name.endsWith("_p99")))
        .map((r) => r.partition),
    );
    expect(p99Partitions.size).toBe(1);
    // (The idle timeout may have closed the last windows too, after all input.)
    const flat = written.flatMap((r) => decode("metric-batch", r.value).samples);
    expect(flat.slice(0, offline.aggregates.length)).toEqual(offline.aggregates);
    expect(await readTopic(kafka, topics.late)).toEqual([]);

    const latency = (await alertEvents(kafka, topics.alerts)).filter(
      (e) => e.rule === "HttpLatencyHigh",
    );
    expect(latency.map((e) => e.status)).toEqual(["firing", "resolved"]);
    expect(latency.map(comparable)).toEqual(
      offline.events.filter((e) => e.rule === "HttpLatencyHigh").map(comparable),
    );
    // The breach began at the end of the first window holding a breaching sample.
    expect(latency[0]!.startsAt).toBe(T0 + 60_000);
  }, 180_000);
});

// Scaling a stateful stage changes no result. The p99 pipeline and the detector run as real
// processes, 1 → 3 → 1 instances each, with a kill -9 of one of each along the way, while six
// services' latencies breach and recover: every aggregate is written exactly once with the value
// an offline single-instance recompute gives, and every alert's events are the offline ones.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { seriesKey } from "../../../pipelines/api.js";
import { buildChain, runChain } from "../../../pipelines/chain.js";
import { decode, encode } from "../../../schemas/codec.js";
import type { Alert, MetricSample } from "../../../schemas/types.js";
import { DetectionEngine } from "../../../services/detector/engine.js";
import { detectorSettings } from "../../../services/detector/settings.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import {
  committedTotal,
  consumedAll,
  createTopics,
  readTopic,
  spawnService,
  waitFor,
  type ChildService,
} from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-25T10:00:00Z");
const MINUTE = 60_000;
const SERVICES = ["s0", "s1", "s2", "s3", "s4", "s5"];
const WINDOW = {
  metrics: ["http_request_duration_seconds"],
  groupBy: ["service"],
  size: "5m",
  advance: "1m",
  allowedLateness: "30s",
  aggregates: ["count", "p50", "p99"],
};

/** Minute m: two hosts per service; service i breaches (0.9 s) in minutes [2 + 3i, 12 + 3i). */
function minute(m: number) {
  return SERVICES.flatMap((service, i) =>
    ["a", "b"].map((h) => ({
      key: `${service}-${h}`,
      samples: Array.from({ length: 4 }, (_, k): MetricSample => ({
        name: "http_request_duration_seconds",
        value: m >= 2 + 3 * i && m < 12 + 3 * i ? 0.9 : 0.05 + k / 100,
        timestamp: T0 + m * MINUTE + k * 15_000,
        labels: { service, host: `${service}-${h}` },
        type: "gauge",
        unit: "seconds",
        startTimestamp: null,
      })),
    })),
  );
}

const PER_MINUTE = SERVICES.length * 2;
const comparable = (e: Alert) => ({ ...e, sentAt: 0 });

describe("scaling the pipeline and the detector out and in", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("changes no aggregate and no alert event, though one of each was killed with -9", async () => {
    const [clean, aggregated, repartition, late, alerts, state, dlq] = await createTopics(
      admin,
      6,
      "scale-clean",
      "scale-aggregated",
      "scale-repartition",
      "scale-late",
      "scale-alerts",
      "scale-state",
      "scale-dlq",
    );
    const pipelineName = uniqueName("p99");
    const detectorName = uniqueName("det");
    const dir = mkdtempSync(join(tmpdir(), "vigil-scale-"));
    const write = (name: string, config: object) => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify(config));
      return path;
    };
    const pipelineConfig = write("pipelines.json", {
      topics: { deadLetter: dlq },
      pipelines: [
        {
          name: pipelineName,
          inputs: [clean],
          output: aggregated,
          late,
          repartition,
          outputKey: "series",
          tick: "500ms",
          sessionTimeout: "6s",
          processors: [{ "window-aggregate": WINDOW }],
        },
      ],
    });
    const detectorConfig = write("detector.json", {
      topics: { deadLetter: dlq },
      detector: {
        name: detectorName,
        inputs: [aggregated],
        output: alerts,
        state,
        tick: "500ms",
        sessionTimeout: "6s",
      },
    });
    const pipeline = () =>
      spawnService("pipelines/service.ts", endpoint, { VIGIL_CONFIG: pipelineConfig });
    const detector = () =>
      spawnService("services/detector/main.ts", endpoint, { VIGIL_CONFIG: detectorConfig });
    const ready = async (child: ChildService) =>
      (await fetch(`http://127.0.0.1:${await child.port}/readyz`)).status === 200;
    const allReady = (children: ChildService[]) =>
      waitFor(
        "every instance owns partitions",
        async () => (await Promise.all(children.map(ready))).every(Boolean),
        60_000,
      );
    const producer = kafka.producer();
    await producer.connect();
    let sent = 0;
    /** Minutes [from, to), each once the pipeline has re-keyed the one before (live sources). */
    const stream = async (from: number, to: number) => {
      for (let m = from; m < to; m++) {
        await producer.send({
          topic: clean!,
          acks: -1,
          messages: minute(m).map((r) => ({
            key: r.key,
            value: encode("metric-batch", { source: r.key, samples: r.samples }),
          })),
        });
        sent += PER_MINUTE;
        await waitFor(
          `minute ${m} re-keyed`,
          async () =>
            (await committedTotal(admin, `vigil-pipeline-${pipelineName}-repartition`, clean!)) ===
            sent,
          60_000,
        );
      }
    };

    const running: ChildService[] = [];
    try {
      const [p1, d1] = [pipeline(), detector()];
      running.push(p1, d1);
      await allReady([p1, d1]);
      await stream(0, 8);
      const [p2, p3, d2, d3] = [pipeline(), pipeline(), detector(), detector()];
      running.push(p2, p3, d2, d3);
      await allReady([p1, p2, p3, d1, d2, d3]);
      await stream(8, 16);
      for (const child of [p2, d2]) child.child.kill("SIGKILL");
      await Promise.all([p2.exited, d2.exited]);
      await stream(16, 24);
      for (const child of [p3, d3]) child.child.kill("SIGTERM");
      await Promise.all([p3.exited, d3.exited]);
      await stream(24, 36);
      await waitFor(
        "the pipeline through every re-keyed sample",
        async () => consumedAll(admin, kafka, `vigil-pipeline-${pipelineName}`, repartition!),
        60_000,
      );
      await waitFor(
        "the detector through every aggregate",
        async () => consumedAll(admin, kafka, `vigil-detector-${detectorName}`, aggregated!),
        60_000,
      );
    } finally {
      await producer.disconnect();
      for (const child of running) child.child.kill("SIGTERM");
      await Promise.all(running.map((c) => c.exited));
    }

    // Offline, one instance: per re-keyed partition, in its order, one window operator; one
    // engine over the aggregates, each series in its order.
    const regrouped = await readTopic(kafka, repartition!);
    const engine = new DetectionEngine(detectorSettings.parse({}).detector.rules.rules, {
      resendEvery: Infinity,
      maxTracks: 10_000,
    });
    const closed = new Map<string, number>();
    const offline: Alert[] = [];
    for (const partition of new Set(regrouped.map((r) => r.partition))) {
      const [window] = buildChain([{ name: "window-aggregate", config: WINDOW }]);
      for (const record of regrouped.filter((r) => r.partition === partition)) {
        const out = runChain([window!], decode("metric-batch", record.value).samples, Date.now);
        for (const s of out.samples) closed.set(`${seriesKey(s)}@${s.timestamp}`, s.value);
        offline.push(...engine.observe(out.samples, Date.now()));
      }
    }

    const written = new Map<string, number[]>();
    for (const record of await readTopic(kafka, aggregated!))
      for (const s of decode("metric-batch", record.value).samples) {
        const key = `${seriesKey(s)}@${s.timestamp}`;
        written.set(key, [...(written.get(key) ?? []), s.value]);
      }
    // Exactly once: no window twice, none lost; each with the offline value.
    expect([...written].filter(([, values]) => values.length > 1)).toEqual([]);
    for (const [key, value] of closed) expect([key, written.get(key)]).toEqual([key, [value]]);
    expect(await readTopic(kafka, late!)).toEqual([]);

    const online = (await readTopic(kafka, alerts!))
      .map((r) => decode("alert", r.value))
      .filter((e) => !e.resend);
    const byFingerprint = (events: Alert[]) => {
      const out = new Map<string, ReturnType<typeof comparable>[]>();
      for (const e of events)
        out.set(e.fingerprint, [...(out.get(e.fingerprint) ?? []), comparable(e)]);
      return out;
    };
    const expected = byFingerprint(offline);
    expect(expected.size).toBe(SERVICES.length); // every service's latency alert
    for (const events of expected.values())
      expect(events.map((e) => e.status)).toEqual(["firing", "resolved"]);
    expect(byFingerprint(online)).toEqual(expected);
  }, 300_000);
});

// Scaling a stateful stage changes no result. The p99 pipeline and the detector run as real
// processes, 1 → 3 → 1 instances each, with a kill -9 of one of each along the way, while six
// services' latencies breach and recover: every aggregate is written exactly once with the value
// an offline single-instance recompute gives, and every alert's events are the offline ones.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { seriesKey } from "../../../pipelines/api.js";
import { decode } from "../../../schemas/codec.js";
import type { Alert } from "../../../schemas/types.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import {
  consumedAll,
  readTopic,
  spawnService,
  waitFor,
  type ChildService,
} from "../../support/kafka.js";
import {
  alertEvents,
  comparable,
  latencies,
  offlineRecompute,
  paced,
  streamTopics,
} from "../../support/latency.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
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
const minute = (m: number) =>
  SERVICES.flatMap((service, i) =>
    ["a", "b"].map((h) => ({
      key: `${service}-${h}`,
      samples: latencies(
        service,
        `${service}-${h}`,
        m,
        m >= 2 + 3 * i && m < 12 + 3 * i ? 0.9 : 0.05 + i / 100,
      ),
    })),
  );

describe("scaling the pipeline and the detector out and in", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("changes no aggregate and no alert event, though one of each was killed with -9", async () => {
    const topics = await streamTopics(admin, "scale");
    const { clean, aggregated, repartition, late, alerts, state, dlq } = topics;
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
        // Its own topics only: the default pack's log rules would read the catalogue's log topic.
        logInputs: [],
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
    const ready = async (child: ChildService) => {
      const port = await child.port;
      const answer = await fetch(`http://127.0.0.1:${port}/readyz`).catch((error: Error) => {
        throw new Error(
          `instance on port ${port} does not answer: ${error.message}\n${child.stderr()}`,
        );
      });
      return answer.status === 200;
    };
    const allReady = (children: ChildService[]) =>
      waitFor(
        "every instance owns partitions",
        async () => (await Promise.all(children.map(ready))).every(Boolean),
        60_000,
      );
    const producer = kafka.producer();
    await producer.connect();
    const stream = (from: number, to: number) =>
      paced(producer, admin, topics, pipelineName, minute, from, to);

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
        async () => consumedAll(admin, kafka, `vigil-pipeline-${pipelineName}`, repartition),
        60_000,
      );
      await waitFor(
        "the detector through every aggregate",
        async () => consumedAll(admin, kafka, `vigil-detector-${detectorName}`, aggregated),
        60_000,
      );
    } finally {
      await producer.disconnect();
      for (const child of running) child.child.kill("SIGTERM");
      await Promise.all(running.map((c) => c.exited));
    }

    const regrouped = await readTopic(kafka, repartition);
    const offline = offlineRecompute(regrouped, [{ name: "window-aggregate", config: WINDOW }]);
    const closed = new Map(
      offline.aggregates.map((a) => [`${seriesKey(a)}@${a.timestamp}`, a.value]),
    );

    const written = new Map<string, number[]>();
    for (const record of await readTopic(kafka, aggregated))
      for (const s of decode("metric-batch", record.value).samples) {
        const key = `${seriesKey(s)}@${s.timestamp}`;
        written.set(key, [...(written.get(key) ?? []), s.value]);
      }
    // Exactly once: no window twice, none lost; each with the offline value.
    expect([...written].filter(([, values]) => values.length > 1)).toEqual([]);
    for (const [key, value] of closed) expect([key, written.get(key)]).toEqual([key, [value]]);
    expect(await readTopic(kafka, late)).toEqual([]);

    const online = await alertEvents(kafka, alerts);
    const byFingerprint = (events: Alert[]) => {
      const out = new Map<string, ReturnType<typeof comparable>[]>();
      for (const e of events)
        out.set(e.fingerprint, [...(out.get(e.fingerprint) ?? []), comparable(e)]);
      return out;
    };
    const expected = byFingerprint(offline.events);
    expect(expected.size).toBe(SERVICES.length); // every service's latency alert
    for (const events of expected.values())
      expect(events.map((e) => e.status)).toEqual(["firing", "resolved"]);
    expect(byFingerprint(online)).toEqual(expected);
  }, 300_000);
});

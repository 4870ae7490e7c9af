// A backlog is not a pause. With six partitions sharing one thread, a partition waits longer than
// the idle timeout between its batches while a backlog is worked through; its windows must not
// close for quiet then. A window closes for quiet only once its task has read its input to the end
// and nothing came for the idle timeout: every window complete, nothing late.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { seriesKey } from "../../../pipelines/api.js";
import { buildChain, runChain } from "../../../pipelines/chain.js";
import { pipelineSettings } from "../../../pipelines/config.js";
import { startPipelines } from "../../../pipelines/service.js";
import { decode, encode } from "../../../schemas/codec.js";
import type { MetricSample } from "../../../schemas/types.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, readTopic, waitFor } from "../../support/kafka.js";
import { chassisFor } from "../../support/services.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-25T10:00:00Z");
const SOURCES = 24;
const MINUTES = 60;
const PER_MINUTE = 100; // samples per source and minute
const WINDOW = {
  groupBy: ["service"],
  size: "1m",
  idleTimeout: "1s",
  aggregates: ["count", "sum", "min", "max"],
};

/** Source s's samples of minute m: service s mod 6, so four sources feed each group. */
function batch(s: number, m: number): MetricSample[] {
  return Array.from({ length: PER_MINUTE }, (_, i) => ({
    name: "gpu_util_percent",
    value: (s * 13 + m * 7 + i) % 101,
    timestamp: T0 + m * 60_000 + Math.floor((i * 60_000) / PER_MINUTE),
    labels: { service: `svc-${s % 6}`, host: `host-${s}` },
    type: "gauge",
    unit: "",
    startTimestamp: null,
  }));
}

describe("windows over a backlog", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("close complete, none for quiet while the backlog is worked through, nothing late", async () => {
    const [input, output, late, repartition, dlq] = await createTopics(
      admin,
      6,
      "backlog-in",
      "backlog-out",
      "backlog-late",
      "backlog-repartition",
      "backlog-dlq",
    );
    // The whole backlog is in Kafka before the pipeline starts: 60 minutes of 24 sources.
    const producer = kafka.producer();
    await producer.connect();
    for (let m = 0; m < MINUTES; m++)
      await producer.send({
        topic: input!,
        acks: -1,
        // Keyed by service (one scraper per service): a group's samples keep their event-time
        // order through the repartition, so only the idle timeout could make them late.
        messages: Array.from({ length: SOURCES }, (_, s) => ({
          key: `svc-${s % 6}`,
          value: encode("metric-batch", { source: `svc-${s % 6}`, samples: batch(s, m) }),
        })),
      });
    await producer.disconnect();

    const service = await startPipelines(
      pipelineSettings.parse({
        ...chassisFor(endpoint, dlq),
        pipelines: [
          {
            name: uniqueName("backlog"),
            inputs: [input],
            output,
            late,
            repartition,
            outputKey: "series",
            tick: "100ms",
            // Small fetches: many turns per partition, each far apart for the others.
            concurrency: 1,
            processors: [{ "window-aggregate": WINDOW }],
          },
        ],
      }),
    );
    const expectedWindows = 6 * MINUTES; // every group's every minute, the last ones by idle
    const aggregates = async () =>
      (await readTopic(kafka, output!)).flatMap((r) => decode("metric-batch", r.value).samples);
    try {
      await waitFor(
        "every window closed",
        async () =>
          (await aggregates()).filter((s) => s.name === "gpu_util_percent_count").length >=
          expectedWindows,
        120_000,
      );
    } finally {
      await service.stop();
    }

    // Offline: each group's samples in event time, one window operator, closed at the end.
    const expected = new Map<string, number>();
    for (let g = 0; g < 6; g++) {
      const chain = buildChain([{ name: "window-aggregate", config: WINDOW }]);
      for (let m = 0; m < MINUTES; m++)
        for (let s = g; s < SOURCES; s += 6)
          runChain(chain, batch(s, m), () => T0).samples.forEach((a) =>
            expected.set(`${seriesKey(a)}@${a.timestamp}`, a.value),
          );
      for (const a of runChain(chain, [], () => T0 + 86_400_000).samples)
        expected.set(`${seriesKey(a)}@${a.timestamp}`, a.value);
    }
    const written = new Map<string, number[]>();
    for (const a of await aggregates()) {
      const key = `${seriesKey(a)}@${a.timestamp}`;
      written.set(key, [...(written.get(key) ?? []), a.value]);
    }
    expect(await readTopic(kafka, late!)).toEqual([]);
    expect(written).toEqual(new Map([...expected].map(([key, value]) => [key, [value]])));
    const counts = [...written].filter(([key]) => key.startsWith("gpu_util_percent_count"));
    expect(counts.every(([, [count]]) => count === 4 * PER_MINUTE)).toBe(true);
  }, 180_000);
});

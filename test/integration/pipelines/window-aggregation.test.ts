import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { chassisFor } from "../../support/services.js";
import { decode, encode } from "../../../schemas/codec.js";
import type { MetricBatch, MetricSample } from "../../../schemas/types.js";
import { pipelineSettings } from "../../../pipelines/config.js";
import { startPipelines } from "../../../pipelines/service.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, readTopic, waitFor } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-25T10:00:00Z");

describe("windowed aggregation through the broker", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it.each(["exactly_once", "at_least_once"] as const)(
    "%s: re-keys by cluster, aggregates each cluster's window exactly, closes a quiet source's window and routes late samples",
    async (processing) => {
      const [raw, byCluster, aggregated, late, dlq, repartition] = await createTopics(
        admin,
        3,
        "win-raw",
        "win-rekeyed",
        "win-agg",
        "win-late",
        "win-dlq",
        "win-repartition",
      );
      const hosts = [
        { host: "a", cluster: "eu" },
        { host: "b", cluster: "eu" },
        { host: "c", cluster: "us" },
      ];
      const batches: MetricBatch[] = hosts.map(({ host, cluster }, h) => ({
        source: host,
        samples: Array.from(
          { length: 12 },
          (_, i) =>
            ({
              name: "gpu_util_percent",
              value: 10 * h + i,
              timestamp: T0 + i * 5_000,
              labels: { host, cluster },
              type: "gauge",
              unit: "",
              startTimestamp: null,
            }) as MetricSample,
        ),
      }));
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: raw!,
        acks: -1,
        messages: batches.map((b) => ({ key: b.source, value: encode("metric-batch", b) })),
      });

      const service = await startPipelines(
        pipelineSettings.parse({
          ...chassisFor(endpoint, dlq),
          pipelines: [
            {
              name: uniqueName("rekey"),
              inputs: [raw],
              output: byCluster,
              keyBy: ["cluster"],
              stateful: false,
              processing,
            },
            {
              name: uniqueName("gpu-by-cluster"),
              outputKey: "series",
              repartition,
              inputs: [byCluster],
              output: aggregated,
              late,
              processing,
              tick: "200ms",
              processors: [
                {
                  "window-aggregate": {
                    groupBy: ["cluster"],
                    size: "1m",
                    idleTimeout: "1s",
                    aggregates: ["count", "sum", "max", "mean"],
                  },
                },
              ],
            },
          ],
        }),
      );
      const results = async () =>
        (await readTopic(kafka, aggregated!)).flatMap(
          (r) => decode("metric-batch", r.value).samples,
        );
      try {
        await waitFor("both clusters' windows", async () => (await results()).length === 8, 30_000);
        await producer.send({
          topic: raw!,
          acks: -1,
          messages: [
            {
              key: "a",
              value: encode("metric-batch", {
                source: "a",
                samples: [{ ...batches[0]!.samples[0]!, value: 99 }],
              }),
            },
          ],
        });
        await waitFor(
          "the late sample routed",
          async () => (await readTopic(kafka, late!)).length === 1,
          30_000,
        );
      } finally {
        await producer.disconnect();
        await service.stop();
      }

      // Offline recompute of the same input.
      const expected = new Map<string, number>();
      for (const cluster of ["eu", "us"]) {
        const values = batches
          .flatMap((b) => b.samples)
          .filter((s) => s.labels.cluster === cluster)
          .map((s) => s.value);
        const sum = values.reduce((a, b) => a + b, 0);
        expected
          .set(`${cluster}/count`, values.length)
          .set(`${cluster}/sum`, sum)
          .set(`${cluster}/max`, Math.max(...values))
          .set(`${cluster}/mean`, sum / values.length);
      }
      const got = await results();
      expect(
        new Map(
          got.map((s) => [
            `${s.labels.cluster}/${s.name.replace("gpu_util_percent_", "")}`,
            s.value,
          ]),
        ),
      ).toEqual(expected);
      expect(got.every((s) => s.timestamp === T0 + 60_000 && s.labels.window === "60s")).toBe(true);
      const records = await readTopic(kafka, aggregated!);
      // Keyed by the series' labels: every window of a series lands on one partition, in order.
      expect(new Set(records.map((r) => r.key))).toEqual(
        new Set(["eu", "us"].map((c) => `{cluster="${c}",window="60s"}`)),
      );
      const [lateSample] = decode(
        "metric-batch",
        (await readTopic(kafka, late!))[0]!.value,
      ).samples;
      expect([lateSample?.value, lateSample?.labels.cluster]).toEqual([99, "eu"]);
      // The guarantee is the setting: transactions for exactly_once, none for at_least_once.
      const transactions = (await service.metrics.transactions.get()).values
        .filter((v) => v.labels.result === "committed")
        .reduce((n, v) => n + v.value, 0);
      if (processing === "exactly_once") expect(transactions).toBeGreaterThan(0);
      else expect(transactions).toBe(0);
    },
    60_000,
  );
});

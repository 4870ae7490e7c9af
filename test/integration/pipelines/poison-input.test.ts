// Probes of input that once stalled a partition for good: a request whose dead letter outgrew
// Kafka's record limit, and an output Kafka refuses as too large. Each must cost only itself.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode } from "../../../schemas/codec.js";
import type { MetricBatch, MetricSample } from "../../../schemas/types.js";
import { pipelineSettings } from "../../../pipelines/config.js";
import { startPipelines } from "../../../pipelines/service.js";
import { startIngest } from "../../../services/http-ingest/main.js";
import { ingestSettings } from "../../../services/http-ingest/settings.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import {
  committedTotal,
  createTopics,
  produceBatches,
  readTopic,
  recordCount,
  waitFor,
} from "../../support/kafka.js";
import { chassisFor } from "../../support/services.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const TOKEN = "poison-probe-token";
const MiB = 1024 * 1024;

/** Letters that gzip cannot squeeze much: the size reaches the broker as it is. */
const noise = (n: number) =>
  [...randomBytes(n)].map((b) => String.fromCharCode(97 + (b % 26))).join("");

const samplesOf = (batches: MetricBatch[]) => batches.flatMap((b) => b.samples);

describe("poison input", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("sets aside a 900 KB request of ten 90 KB invalid names and lets every other sample through", async () => {
    const [metrics, output, dlq] = await createTopics(
      admin,
      3,
      "poison-in",
      "poison-out",
      "poison-dlq",
    );
    process.env.VIGIL_TEST_POISON_TOKEN = TOKEN;
    const ingest = await startIngest(
      ingestSettings.parse({
        ...chassisFor(endpoint),
        ingest: {
          port: 0,
          token: { env: "VIGIL_TEST_POISON_TOKEN" },
          maxBodyBytes: 2 * MiB,
          metricsTopic: metrics,
          logsTopic: metrics,
        },
      }),
    );
    const name = uniqueName("poison");
    const pipelines = await startPipelines(
      pipelineSettings.parse({
        ...chassisFor(endpoint, dlq),
        pipelines: [
          {
            name,
            inputs: [metrics],
            output,
            processors: [{ validate: { maxAge: "24000h", maxFuture: "24000h" } }],
          },
        ],
      }),
    );
    const now = Date.now();
    const good = (host: string, i: number) => `gpu_util,host=${host} value=${i} ${now + i}`;
    const poison = Array.from({ length: 10 }, (_, i) => `bad-${noise(90_000)} value=${i} ${now}`);
    const before = Array.from({ length: 60 }, (_, i) => good(`node-${i % 12}`, i));
    const after = Array.from({ length: 60 }, (_, i) => good(`node-${i % 12}`, 100 + i));
    const post = (lines: string[]) =>
      fetch(`http://127.0.0.1:${ingest.ingestPort}/write?precision=ms`, {
        method: "POST",
        body: lines.join("\n"),
        headers: { authorization: `Token ${TOKEN}` },
      });
    try {
      const body = [...before, ...poison];
      expect(Buffer.byteLength(body.join("\n"))).toBeGreaterThan(900_000);
      expect((await post(body)).status).toBe(204);
      expect((await post(after)).status).toBe(204);

      const group = `vigil-pipeline-${name}`;
      const written = await recordCount(admin, metrics!);
      await waitFor(
        "the pipeline to commit every input record (lag 0)",
        async () => (await committedTotal(admin, group, metrics!)) === written,
        60_000,
      );
      const out = samplesOf(
        (await readTopic(kafka, output!)).map((r) => decode("metric-batch", r.value)),
      );
      expect(out.map((s) => s.value).sort((a, b) => a - b)).toEqual(
        [...before, ...after].map((_, i) => (i < 60 ? i : 40 + i)),
      );
      const letters = await readTopic(kafka, dlq!);
      expect(letters.length).toBeGreaterThan(0);
      for (const r of letters) expect(r.value!.length).toBeLessThan(MiB);
      const decoded = letters.map((r) => decode("dead-letter", r.value));
      expect(decoded.every((l) => l.errorCode === "VGL_VALIDATE")).toBe(true);
      expect(decoded.every((l) => l.originalTopic === metrics)).toBe(true);
      // The reasons are cut (with the size they had); the rejected samples are all accounted for.
      // Ingest made the names valid; validate refuses them for their length (the message, which
      // names each sample, is cut).
      expect(decoded[0]!.errorMessage).toMatch(/truncated: \d+ bytes/);
      const rejected = decoded.flatMap((l) =>
        l.value === null ? [] : decode("metric-batch", l.value).samples,
      );
      const byReference = decoded.filter((l) => l.value === null);
      expect(rejected.length + byReference.length * 10).toBeGreaterThanOrEqual(10);
      for (const l of byReference) expect(l.omitted?.value).toBeGreaterThan(256 * 1024);
      const ready = await fetch(`http://127.0.0.1:${pipelines.http.port}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      await pipelines.stop();
      await ingest.stop();
    }
  }, 120_000);

  it("sets aside the one record whose output Kafka refuses as too large, and commits the rest", async () => {
    const [input, dlq] = await createTopics(admin, 1, "refused-in", "refused-dlq");
    const [output] = await createTopics(
      admin,
      { partitions: 1, configEntries: [{ name: "max.message.bytes", value: "20000" }] },
      "refused-out",
    );
    const sample = (value: number, labels: Record<string, string>): MetricSample => ({
      name: "gpu_util",
      value,
      timestamp: Date.now(),
      labels,
      type: "gauge",
      unit: "",
      startTimestamp: null,
    });
    const batches: MetricBatch[] = [
      { source: "a", samples: [sample(1, { host: "a" })] },
      { source: "big", samples: [sample(2, { host: "big", blob: noise(60_000) })] },
      { source: "b", samples: [sample(3, { host: "b" })] },
    ];
    await produceBatches(kafka, input!, batches);

    const name = uniqueName("refused");
    const pipelines = await startPipelines(
      pipelineSettings.parse({
        ...chassisFor(endpoint, dlq),
        pipelines: [{ name, inputs: [input], output, processors: [{ validate: {} }] }],
      }),
    );
    try {
      await waitFor(
        "all three records committed",
        async () => (await committedTotal(admin, `vigil-pipeline-${name}`, input!)) === 3,
        60_000,
      );
    } finally {
      await pipelines.stop();
    }
    const out = (await readTopic(kafka, output!)).map((r) => decode("metric-batch", r.value));
    expect(out.map((b) => b.samples[0]!.value)).toEqual([1, 3]);
    const letters = (await readTopic(kafka, dlq!)).map((r) => decode("dead-letter", r.value));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      originalTopic: input,
      offset: 1,
      errorCode: "VGL_PRODUCE_REFUSED",
    });
    expect(letters[0]!.errorMessage).toMatch(/MESSAGE_TOO_LARGE/);
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { chassisFor } from "../../support/services.js";
import { decode, encode } from "../../../schemas/codec.js";
import type { MetricBatch, MetricSample } from "../../../schemas/types.js";
import { pipelineSettings } from "../../../pipelines/config.js";
import { startPipelines } from "../../../pipelines/service.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { committedTotal, createTopics, readTopic, waitFor } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-25T10:00:00Z");
const s = (
  name: string,
  value: number,
  timestamp: number,
  labels: Record<string, string>,
  type: MetricSample["type"] = "gauge",
): MetricSample => ({ name, value, timestamp, labels, type, unit: "", startTimestamp: null });

describe("pipeline service", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("runs a declared chain from the input topic to the output topic and dead-letters rejected samples", async () => {
    const [input, output, dlq] = await createTopics(admin, 2, "pipe-in", "pipe-out", "pipe-dlq");
    // Its own name: the changelog (vigil-pipeline-<name>-changelog) is this run's alone.
    const name = uniqueName("clean");
    const batches: MetricBatch[] = [
      {
        source: "node-1",
        samples: [
          s("requests_total", 100, T0, { instance: "node-1:9100" }, "counter"),
          s("gpu temp", 70, T0, { instance: "node-1:9100" }),
        ],
      },
      {
        source: "node-1",
        samples: [s("requests_total", 160, T0 + 10_000, { instance: "node-1:9100" }, "counter")],
      },
    ];
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: input!,
      acks: -1,
      messages: batches.map((b) => ({ key: b.source, value: encode("metric-batch", b) })),
    });
    await producer.disconnect();

    const service = await startPipelines(
      pipelineSettings.parse({
        ...chassisFor(endpoint, dlq),
        pipelines: [
          {
            name,
            inputs: [input],
            output,
            processors: [
              { validate: { maxAge: "24000h", maxFuture: "24000h" } },
              {
                relabel: {
                  rules: [
                    { source_labels: ["instance"], regex: "([^:]+):.*", target_label: "host" },
                    { action: "labeldrop", regex: "instance" },
                  ],
                },
              },
              { "counter-to-rate": { keepCounters: false } },
            ],
          },
        ],
      }),
      () => T0 + 20_000,
    );
    try {
      await waitFor(
        "both records committed",
        async () => (await committedTotal(admin, `vigil-pipeline-${name}`, input!)) === 2,
      );
      const metrics = await (await fetch(`http://127.0.0.1:${service.http.port}/metrics`)).text();
      expect(metrics).toContain(
        `vigil_processor_samples_total{pipeline="${name}",processor="validate",direction="rejected",service="pipelines"} 1`,
      );
    } finally {
      await service.stop();
    }
    const out = (await readTopic(kafka, output!)).map((r) => decode("metric-batch", r.value));
    expect(out).toEqual([
      { source: "node-1", samples: [s("requests_per_second", 6, T0 + 10_000, { host: "node-1" })] },
    ]);
    const [letter] = (await readTopic(kafka, dlq!)).map((r) => decode("dead-letter", r.value));
    expect(letter).toMatchObject({
      originalTopic: input,
      offset: 0,
      failedStage: `pipeline:${name}`,
      errorCode: "VGL_VALIDATE",
      errorMessage: 'validate: gpu temp: name: "gpu temp" is not a valid metric name',
    });
    expect(decode("metric-batch", letter!.value).samples.map((x) => x.name)).toEqual(["gpu temp"]);
  });
});

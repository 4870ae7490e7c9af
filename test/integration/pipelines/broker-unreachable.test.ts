// The windows a tick closes are written in the same transaction as the state that no longer holds
// them. When the broker cannot be reached at that moment, the transaction fails, the task's state
// is restored from its changelog — the windows still open there — and they close again once the
// broker answers: no aggregate is lost, none is written twice.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildChain, runChain } from "../../../pipelines/chain.js";
import { seriesKey } from "../../../pipelines/api.js";
import { pipelineSettings } from "../../../pipelines/config.js";
import { startPipelines } from "../../../pipelines/service.js";
import { decode, encode } from "../../../schemas/codec.js";
import type { MetricSample } from "../../../schemas/types.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { consumedAll, createTopics, readTopic, waitFor } from "../../support/kafka.js";
import { cuttableKafka } from "../../support/network.js";
import { chassisFor } from "../../support/services.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-25T10:00:00Z");
const WINDOW = {
  groupBy: ["service"],
  size: "1m",
  idleTimeout: "8s",
  aggregates: ["count", "sum"],
};

describe("a pipeline that cannot reach the broker when its windows close", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("writes every closed window once the broker answers again, exactly once", async () => {
    const [input, output, late, repartition, dlq] = await createTopics(
      admin,
      6,
      "cut-in",
      "cut-out",
      "cut-late",
      "cut-repartition",
      "cut-dlq",
    );
    const name = uniqueName("cut");
    // Every sample in one window per service: only the idle timeout closes them — during the cut.
    const records = ["api", "db", "web", "auth"].map((service, s) => ({
      key: `host-${s}`,
      samples: Array.from({ length: 10 }, (_, i): MetricSample => ({
        name: "http_request_duration_seconds",
        value: s + i / 10,
        timestamp: T0 + i * 5_000,
        labels: { service, host: `host-${s}` },
        type: "gauge",
        unit: "",
        startTimestamp: null,
      })),
    }));
    const network = cuttableKafka(endpoint);
    // Processing time is ours: the idle timeout passes exactly when the broker is out of reach.
    let clock = Date.now();
    const service = await startPipelines(
      pipelineSettings.parse({
        ...chassisFor(endpoint, dlq),
        pipelines: [
          {
            name,
            inputs: [input],
            output,
            late,
            repartition,
            outputKey: "series",
            tick: "200ms",
            sessionTimeout: "10s",
            processors: [{ "window-aggregate": WINDOW }],
          },
        ],
      }),
      () => clock,
      network.kafka,
    );
    const producer = kafka.producer();
    await producer.connect();
    try {
      await waitFor("the pipeline ready", async () => service.http !== undefined, 30_000);
      await producer.send({
        topic: input!,
        acks: -1,
        messages: records.map((r) => ({
          key: r.key,
          value: encode("metric-batch", { source: r.key, samples: r.samples }),
        })),
      });
      await waitFor(
        "the samples re-keyed",
        async () => (await readTopic(kafka, repartition!)).length === records.length,
        30_000,
      );
      await waitFor(
        "the samples in the windows' state",
        async () => consumedAll(admin, kafka, `vigil-pipeline-${name}`, repartition!),
        30_000,
      );
      network.cut();
      clock += 3_600_000;
      // The idle timeout has passed while the broker is out of reach: whatever closing the
      // windows wrote (a transaction that cannot commit) is not visible, and the state that
      // held them is what a restore finds.
      await new Promise((done) => setTimeout(done, 10_000));
      expect(await readTopic(kafka, output!)).toEqual([]);
      network.restore();
      await waitFor(
        "every window written",
        async () => (await readTopic(kafka, output!)).length === records.length,
        60_000,
      );
      // The closing did fail while the broker was away — aborted, retried from the changelog.
      const metrics = await (await fetch(`http://127.0.0.1:${service.http.port}/metrics`)).text();
      const count = (line: string) =>
        metrics
          .split("\n")
          .filter((l) => l.startsWith(line))
          .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
      expect(count('vigil_transactions_total{result="aborted"')).toBeGreaterThan(0);
      expect(count('vigil_retries_total{stage="tick"')).toBeGreaterThan(0);
    } finally {
      network.restore();
      await producer.disconnect();
      await service.stop();
    }

    const written = (await readTopic(kafka, output!)).flatMap(
      (r) => decode("metric-batch", r.value).samples,
    );
    const expected = records.flatMap((r) => {
      const chain = buildChain([{ name: "window-aggregate", config: WINDOW }]);
      runChain(chain, r.samples, () => T0);
      return runChain(chain, [], () => T0 + 3_600_000).samples;
    });
    const byKey = (samples: MetricSample[]) =>
      samples.map((s) => `${seriesKey(s)}@${s.timestamp}=${s.value}`).sort();
    expect(byKey(written)).toEqual(byKey(expected));
    expect(await readTopic(kafka, late!)).toEqual([]);
  }, 150_000);
});

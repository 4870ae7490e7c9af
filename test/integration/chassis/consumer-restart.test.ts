// kafkajs gives up on a consumer for good when a crash is not "retriable" in its eyes — among
// them KafkaJSGroupCoordinatorNotFound, which it throws when a broker that just restarted answers
// the coordinator lookup with COORDINATOR_LOAD_IN_PROGRESS: the soak's broker restart left two
// stages "stopped for good", their partitions unconsumed. The processing loop starts such a
// consumer again, backing off, until it has rejoined its group. Here the crash is an assignor that
// fails the first join (deterministic; the broker and kafkajs are real).
import { PartitionAssigners, type PartitionAssigner } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode } from "../../../schemas/codec.js";
import type { MetricBatch } from "../../../schemas/types.js";
import { createLogger } from "../../../services/chassis/logger.js";
import { createMetrics } from "../../../services/chassis/metrics.js";
import { createProcessingLoop } from "../../../services/chassis/processing-loop.js";
import { createProducer } from "../../../services/chassis/producer.js";
import { consumerSettings } from "../../../services/chassis/settings.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, idsOf, produceIds, readTopic, waitFor } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

/** Kafka's round robin, except that its first assignment throws (a non-retriable crash). */
function failingOnce(): { assigner: PartitionAssigner; failed: () => number } {
  let failures = 0;
  const assigner: PartitionAssigner = (config) => {
    const inner = PartitionAssigners.roundRobin(config);
    return {
      ...inner,
      name: "FailingOnce",
      async assign(group) {
        if (failures === 0) {
          failures += 1;
          throw new Error("assignor failed (test)");
        }
        return inner.assign(group);
      },
    };
  };
  return { assigner, failed: () => failures };
}

describe("a consumer kafkajs gave up on", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("is started again, rejoins its group and consumes its records", async () => {
    const [input, output, dlq] = await createTopics(
      admin,
      1,
      "restart-in",
      "restart-out",
      "restart-dlq",
    );
    await produceIds(kafka, input!, ["r-0", "r-1", "r-2"]);
    const metrics = createMetrics("relay");
    const producer = createProducer(kafka, metrics);
    await producer.connect();
    const { assigner, failed } = failingOnce();
    const loop = createProcessingLoop<MetricBatch>({
      kafka,
      producer,
      settings: consumerSettings.parse({
        groupId: uniqueName("restart"),
        topics: [input],
        sessionTimeout: "6s",
      }),
      deadLetterTopic: dlq!,
      decode: (_topic, value) => decode("metric-batch", value),
      handler: async (records) => ({
        outputs: records.map((r) => ({ topic: output!, key: r.key, value: r.value })),
      }),
      metrics,
      logger: createLogger("relay", "silent"),
      partitionAssigners: [assigner],
    });
    try {
      await loop.start();
      await waitFor("the first join to fail", async () => failed() === 1, 30_000);
      await waitFor(
        "every record relayed",
        async () => (await readTopic(kafka, output!)).length === 3,
        60_000,
      );
      await waitFor("ready again", async () => loop.notReady() === undefined, 30_000);
    } finally {
      await loop.stop();
      await producer.disconnect();
    }
    expect(idsOf(await readTopic(kafka, output!)).sort()).toEqual(["r-0", "r-1", "r-2"]);
  }, 120_000);
});

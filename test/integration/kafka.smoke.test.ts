import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kafkaClient, uniqueName } from "../support/clients.js";
import { createTopics } from "../support/kafka.js";

describe("Kafka smoke", () => {
  const endpoint = inject("servers").kafka;
  const kafka = kafkaClient(endpoint);
  const admin = kafka.admin();
  let topic = "";

  beforeAll(async () => {
    await admin.connect();
    // Its leaders known before the test sends (a loaded broker answers late for a new topic).
    [topic] = (await createTopics(admin, 2, "vigil-smoke")) as [string];
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("delivers a keyed record with headers to a consumer group, which commits its offset", async () => {
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const [sent] = await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: "gpu-node-7",
          value: JSON.stringify({ temp: 81.5 }),
          headers: { "vigil-schema": "metric.v1" },
        },
      ],
    });
    await producer.disconnect();

    const groupId = uniqueName("vigil-smoke-group");
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<{
      key: string;
      value: string;
      header: string;
      partition: number;
      offset: string;
    }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message, partition }) =>
          resolve({
            key: message.key?.toString() ?? "",
            value: message.value?.toString() ?? "",
            header: message.headers?.["vigil-schema"]?.toString() ?? "",
            partition,
            offset: message.offset,
          }),
      });
    });
    await consumer.disconnect();

    expect(received).toEqual({
      key: "gpu-node-7",
      value: '{"temp":81.5}',
      header: "metric.v1",
      partition: sent!.partition,
      offset: sent!.baseOffset,
    });
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const offsets = committed[0]!.partitions.find((p) => p.partition === received.partition);
    expect(offsets?.offset).toBe(String(Number(received.offset) + 1));
  });
});

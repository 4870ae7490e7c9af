// The transactional writer every stateful stage commits through: creating one fences the previous
// holder of its id at once — before its caller reads any state — so a task's old owner can never
// commit after the new owner has restored.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMetrics } from "../../../services/chassis/metrics.js";
import { transactionalWriter } from "../../../services/chassis/transactions.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, readTopic } from "../../support/kafka.js";

const kafka = kafkaClient(inject("servers").kafka);
const admin = kafka.admin();

describe("the transactional writer", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("fences the previous writer of its id as soon as it exists, so only the new one commits", async () => {
    const [topic] = await createTopics(admin, 1, "txw");
    const id = uniqueName("txw-id");
    const metrics = createMetrics("test");
    const old = await transactionalWriter(kafka, id, metrics);
    const next = await transactionalWriter(kafka, id, metrics);
    try {
      await expect(
        old.commit([{ topic: topic!, key: "old", value: Buffer.from("stale") }]),
      ).rejects.toThrow();
      await next.commit([{ topic: topic!, key: "new", value: Buffer.from("fresh") }]);
    } finally {
      await Promise.all([old.close(), next.close()]);
    }
    expect((await readTopic(kafka, topic!)).map((r) => r.key)).toEqual(["new"]);
  });
});

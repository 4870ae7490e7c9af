import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RetryableError } from "../../../services/chassis/errors.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { startTestService } from "../../support/services.js";
import {
  committedTotal,
  createTopics,
  idsOf,
  produceIds,
  readTopic,
  waitFor,
} from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

describe("backpressure", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("holds a partition while its store is down, commits nothing meanwhile, and drains once it is back", async () => {
    const [input, output, dlq] = await createTopics(admin, 1, "bp-in", "bp-out", "bp-dlq");
    const groupId = uniqueName("bp");
    await produceIds(kafka, input!, ["m-0", "m-1", "m-2"]);
    let storeUp = false;
    let attempts = 0;
    const service = await startTestService({
      name: "sink",
      kafka: endpoint,
      input: input!,
      deadLetter: dlq!,
      groupId,
      consumer: { retry: { initial: "20ms", max: "100ms" } },
      handler: async (records) => {
        attempts += 1;
        if (!storeUp) throw new RetryableError("store unavailable: connection refused");
        return { outputs: records.map((r) => ({ topic: output!, key: r.key, value: r.value! })) };
      },
    });
    try {
      await waitFor("several failed attempts", async () => attempts >= 4);
      expect(await committedTotal(admin, groupId, input!)).toBe(0);
      expect(await readTopic(kafka, dlq!)).toEqual([]); // a store outage is not a bad record

      storeUp = true;
      await waitFor(
        "the backlog to drain",
        async () => (await committedTotal(admin, groupId, input!)) === 3,
      );
      expect(idsOf(await readTopic(kafka, output!))).toEqual(["m-0", "m-1", "m-2"]);
      const retries = (await service.metrics.retries.get()).values.find(
        (v) => v.labels.stage === "handler",
      );
      expect(retries?.value).toBeGreaterThanOrEqual(3);
    } finally {
      await service.stop();
    }
  });
});

import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { MetricBatch } from "../../../schemas/types.js";
import type { BatchHandler } from "../../../services/chassis/processing-loop.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { startTestService } from "../../support/services.js";
import { committedTotal, createTopics, produceIds, waitFor } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

function relay(
  name: string,
  input: string,
  deadLetter: string,
  groupId: string,
  handler: BatchHandler<MetricBatch>,
) {
  const consumer = { rebalanceTimeout: "10s", heartbeatInterval: "1s" };
  return startTestService({ name, kafka: endpoint, input, deadLetter, groupId, handler, consumer });
}

const commitsBy = async (service: Awaited<ReturnType<typeof relay>>) =>
  Object.fromEntries(
    (await service.metrics.commits.get()).values.map((v) => [v.labels.result, v.value]),
  );

describe("rebalancing", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("never commits an offset for a partition the instance lost while it was still processing", async () => {
    const [input, output, dlq] = await createTopics(admin, 1, "rebal-in", "rebal-out", "rebal-dlq");
    const groupId = uniqueName("rebal");
    await produceIds(
      kafka,
      input!,
      Array.from({ length: 40 }, (_, i) => `first-${i}`),
    );

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let gotBatch!: () => void;
    const aHasBatch = new Promise<void>((resolve) => (gotBatch = resolve));
    // A takes its first batch and then stalls without heartbeating, like a member stuck in GC.
    const a = await relay("member-a", input!, dlq!, groupId, async (records) => {
      gotBatch();
      await released;
      return { outputs: records.map((r) => ({ topic: output!, key: r.key, value: r.value! })) };
    });
    await aHasBatch;

    const b = await relay("member-b", input!, dlq!, groupId, async (records) => ({
      outputs: records.map((r) => ({ topic: output!, key: r.key, value: r.value! })),
    }));
    // A misses its session; the group gives the partition to B, which processes past A's batch.
    await produceIds(
      kafka,
      input!,
      Array.from({ length: 20 }, (_, i) => `second-${i}`),
    );
    await waitFor(
      "B to commit everything",
      async () => (await committedTotal(admin, groupId, input!)) === 60,
      45_000,
    );

    release();
    await waitFor("A to finish its stale batch", async () => {
      const c = await commitsBy(a);
      return (c.skipped_revoked ?? 0) + (c.rejected_not_owner ?? 0) > 0;
    });
    expect((await commitsBy(a)).committed ?? 0).toBe(0);
    // Had A's commit of its older batch landed, the group's offset would have gone back to 40.
    expect(await committedTotal(admin, groupId, input!)).toBe(60);

    await Promise.all([a.stop(), b.stop()]);
    expect(await committedTotal(admin, groupId, input!)).toBe(60);
  }, 90_000);
});

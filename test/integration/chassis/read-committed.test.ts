// A read_committed consumer sees no record of an aborted transaction, in whatever order the
// transactions of several producers interleave and end. kafkajs's filter took the broker's list of
// aborted transactions as sorted by first offset (it is in the order they ended) and stepped into
// one per record: a transaction that began first and aborted last leaked into the batch. In a
// re-keyed topic, which every repartition task writes, that is a window counting one host's
// minute twice after a kill -9 aborts an open transaction (services/chassis/kafkajs-fixes.ts).
import type { Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, readTopic } from "../../support/kafka.js";

const kafka = kafkaClient(inject("servers").kafka);
const admin = kafka.admin();

async function transactional(): Promise<Producer> {
  const producer = kafka.producer({
    transactionalId: uniqueName("rc"),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  return producer;
}

describe("reading committed records only", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("hides every aborted record, though the transaction that began first aborted last", async () => {
    const [topic] = await createTopics(admin, 1, "rc");
    const [a, b, c] = await Promise.all([transactional(), transactional(), transactional()]);
    const send = (tx: Awaited<ReturnType<Producer["transaction"]>>, value: string) =>
      tx.send({ topic: topic!, acks: -1, messages: [{ key: value, value }] });
    try {
      const ta = await a.transaction();
      await send(ta, "a1 (aborted)"); // offset 0: a's transaction begins first
      const tb = await b.transaction();
      await send(tb, "b1 (aborted)"); // offset 1
      await tb.abort(); // b's ends first
      await send(ta, "a2 (aborted)");
      const tc = await c.transaction();
      await send(tc, "c1 (committed)");
      await ta.abort(); // a's ends last
      await send(tc, "c2 (committed)");
      await tc.commit();
    } finally {
      await Promise.all([a.disconnect(), b.disconnect(), c.disconnect()]);
    }
    expect((await readTopic(kafka, topic!)).map((r) => r.key)).toEqual([
      "c1 (committed)",
      "c2 (committed)",
    ]);
  });

  it("hides aborted records when a fetch begins inside two aborted transactions", async () => {
    const [topic] = await createTopics(admin, 1, "rc-mid");
    const producers = await Promise.all([transactional(), transactional(), transactional()]);
    const [a, b, c] = producers as [Producer, Producer, Producer];
    const put = (tx: Awaited<ReturnType<Producer["transaction"]>>, key: string) =>
      tx.send({ topic: topic!, acks: -1, messages: [{ key, value: key }] });
    try {
      const [ta, tb, tc] = [await a.transaction(), await b.transaction(), await c.transaction()];
      await put(ta, "a1"); // 0
      await put(tb, "b1"); // 1
      await put(tc, "c1"); // 2
      await put(tb, "b2"); // 3
      await put(ta, "a2"); // 4
      await ta.abort(); // marker 5
      await tb.abort(); // marker 6
      await tc.commit(); // marker 7
    } finally {
      await Promise.all(producers.map((p) => p.disconnect()));
    }
    // A consumer that starts at each offset in turn: every first fetch begins somewhere else.
    const seenFrom = async (from: number) => {
      const seen: string[] = [];
      const consumer = kafka.consumer({ groupId: uniqueName("rc-from"), maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic!] });
      const end = new Promise<void>((resolve) =>
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          if (Number(payload.lastOffset) >= 7) resolve();
        }),
      );
      await consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) seen.push(m.key!.toString());
        },
      });
      consumer.seek({ topic: topic!, partition: 0, offset: String(from) });
      await end;
      await consumer.disconnect();
      return seen;
    };
    const seen: Record<number, string[]> = {};
    for (let from = 0; from <= 4; from++) seen[from] = await seenFrom(from);
    expect(seen).toEqual({ 0: ["c1"], 1: ["c1"], 2: ["c1"], 3: [], 4: [] });
  });
});

// Kafka transactions, in one place: a writer whose every commit is all or nothing — output
// records, changelog records and (for a consuming stage) the input offsets they cover. Readers in
// read_committed mode (every Vigil consumer) see a commit whole or not at all.
//
// One writer per transactional id. A stateful stage uses one id per task (its input partition),
// so whichever instance owns the partition next initialises the same id: the broker fences the
// previous owner's producer and aborts its open transaction before the new owner reads state.
import { CompressionTypes, type Kafka, type Producer } from "kafkajs";
import type { ServiceMetrics } from "./metrics.js";
import { groupBy } from "./group.js";
import { partitionOf } from "./partition.js";
import { chunked, topicMessages, type OutboundRecord } from "./producer.js";

export interface InputOffset {
  topic: string;
  partition: number;
  /** The next offset to read: one past the last record the commit covers. */
  offset: string;
}

export interface TransactionalWriter {
  /**
   * Writes `records` and commits `offsets` for `groupId` in one transaction; aborts on failure.
   * `written` runs once the records are acknowledged, before the offsets and the commit.
   */
  commit(
    records: OutboundRecord[],
    offsets?: { groupId: string; inputs: InputOffset[] },
    written?: () => void | Promise<void>,
  ): Promise<void>;
  close(): Promise<void>;
}

export async function transactionalWriter(
  kafka: Kafka,
  id: string,
  metrics: ServiceMetrics,
): Promise<TransactionalWriter> {
  const producer: Producer = kafka.producer({
    transactionalId: id,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // A transaction begun right after the previous commit is often told CONCURRENT_TRANSACTIONS
    // while the broker writes the markers: retry within milliseconds, not kafkajs's 300 ms — but
    // only a few seconds in all: a broker out of reach fails the transaction, and the stage's own
    // retry (state restored from the changelog) takes over rather than a minute-long stall.
    retry: { initialRetryTime: 10, maxRetryTime: 2_000, retries: 10 },
  });
  await producer.connect();
  const partitionCounts = new Map<string, number>();
  /** The records by topic-partition, each placed where kafkajs's default partitioner would put it. */
  async function byPartition(records: OutboundRecord[]): Promise<OutboundRecord[][]> {
    const unknown = [
      ...new Set(records.filter((r) => r.partition === undefined).map((r) => r.topic)),
    ].filter((topic) => !partitionCounts.has(topic));
    if (unknown.length > 0) {
      const admin = kafka.admin();
      let timer: NodeJS.Timeout | undefined;
      try {
        // Bounded like a send: a broker out of reach fails the transaction, retried by the stage.
        const lookup = (async () => {
          await admin.connect();
          return admin.fetchTopicMetadata({ topics: unknown });
        })();
        lookup.catch(() => undefined); // answered after the time is up: nobody waits for it
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("topic metadata: no answer in 5 s")), 5_000);
        });
        const { topics } = await Promise.race([lookup, late]);
        for (const t of topics) partitionCounts.set(t.name, t.partitions.length);
      } catch (error) {
        // A topic that is not there: its records go as they are, for the send to refuse.
        if ((error as { type?: string }).type !== "UNKNOWN_TOPIC_OR_PARTITION") throw error;
      } finally {
        clearTimeout(timer);
        void admin.disconnect().catch(() => undefined);
      }
    }
    let spread = 0;
    const placed = records.map((r) => {
      const count = partitionCounts.get(r.topic);
      if (r.partition !== undefined || count === undefined) return r;
      return {
        ...r,
        partition: r.key === null ? spread++ % count : partitionOf(r.key, count),
      };
    });
    return [...groupBy(placed, (r) => `${r.topic}\u0000${r.partition ?? "any"}`).values()];
  }
  // kafkajs initialises the transactional id at the first transaction, not at connect: begin and
  // abort one now, so the earlier producer of this id is fenced and its open transaction aborted
  // (and its commit's markers written) before the caller reads any state. Without it, a task
  // restored from the changelog while the previous owner still commits would close a window twice.
  await (await producer.transaction()).abort();
  return {
    async commit(records, offsets, written) {
      if (records.length === 0 && (offsets?.inputs.length ?? 0) === 0) return;
      const batches = topicMessages(records);
      const transaction = await producer.transaction();
      try {
        // kafkajs groups a send's messages by partition in time quadratic in their number
        // (groupMessagesPerPartition copies the list per message): a commit that changed 15 000
        // keys spent most of its CPU there. Bounded sends keep it linear, and each partition's
        // record batch under the broker's limit.
        //
        // And one partition per send: kafkajs retries a send by the broker that has not answered
        // yet, so when a partition's leader acknowledged and then moved (killed) while another
        // broker of the same send failed, the retry wrote that partition's records again, under
        // new sequence numbers, into the same transaction — a batch written twice (found by the
        // leader-failover fault test: 60 records at consecutive offsets, one producer epoch).
        for (const part of await byPartition(records))
          for (const chunk of chunked(part))
            await transaction.sendBatch({
              acks: -1,
              compression: CompressionTypes.GZIP,
              topicMessages: topicMessages(chunk),
            });
        await written?.();
        if (offsets && offsets.inputs.length > 0)
          await transaction.sendOffsets({
            consumerGroupId: offsets.groupId,
            topics: [...new Set(offsets.inputs.map((o) => o.topic))].map((topic) => ({
              topic,
              partitions: offsets.inputs
                .filter((o) => o.topic === topic)
                .map(({ partition, offset }) => ({ partition, offset })),
            })),
          });
        await transaction.commit();
      } catch (error) {
        metrics.transactions.inc({ result: "aborted" });
        await transaction.abort().catch(() => undefined);
        throw error;
      }
      metrics.transactions.inc({ result: "committed" });
      for (const { topic, messages } of batches) metrics.recordsOut.inc({ topic }, messages.length);
    },
    close: () => producer.disconnect(),
  };
}

// Kafka transactions, in one place: a writer whose every commit is all or nothing — output
// records, changelog records and (for a consuming stage) the input offsets they cover. Readers in
// read_committed mode (every Vigil consumer) see a commit whole or not at all.
//
// One writer per transactional id. A stateful stage uses one id per task (its input partition),
// so whichever instance owns the partition next initialises the same id: the broker fences the
// previous owner's producer and aborts its open transaction before the new owner reads state.
import { CompressionTypes, type Kafka, type Producer } from "kafkajs";
import type { ServiceMetrics } from "./metrics.js";
import { chunked, topicMessages, type OutboundRecord } from "./producer.js";

export interface InputOffset {
  topic: string;
  partition: number;
  /** The next offset to read: one past the last record the commit covers. */
  offset: string;
}

export interface TransactionalWriter {
  /** Writes `records` and commits `offsets` for `groupId` in one transaction; aborts on failure. */
  commit(
    records: OutboundRecord[],
    offsets?: { groupId: string; inputs: InputOffset[] },
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
  // kafkajs initialises the transactional id at the first transaction, not at connect: begin and
  // abort one now, so the earlier producer of this id is fenced and its open transaction aborted
  // (and its commit's markers written) before the caller reads any state. Without it, a task
  // restored from the changelog while the previous owner still commits would close a window twice.
  await (await producer.transaction()).abort();
  return {
    async commit(records, offsets) {
      if (records.length === 0 && (offsets?.inputs.length ?? 0) === 0) return;
      const batches = topicMessages(records);
      const transaction = await producer.transaction();
      try {
        // kafkajs groups a send's messages by partition in time quadratic in their number
        // (groupMessagesPerPartition copies the list per message): a commit that changed 15 000
        // keys spent most of its CPU there. Bounded sends keep it linear, and each partition's
        // record batch under the broker's limit.
        for (const chunk of chunked(records))
          await transaction.sendBatch({
            acks: -1,
            compression: CompressionTypes.GZIP,
            topicMessages: topicMessages(chunk),
          });
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

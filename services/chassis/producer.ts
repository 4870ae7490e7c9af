// The producer every service writes with. acks=all, so a send resolves only once every in-sync
// replica has the records — the moment offsets may be committed. Not kafkajs's idempotent mode:
// kafkajs marks it experimental and it breaks with sequence errors under concurrent sends
// (tulios/kafkajs#598). A retried send may therefore duplicate; Vigil's consumers are built for
// that (deterministic sink ids, alert fingerprints), which at-least-once needs anyway.
import { groupBy } from "./group.js";
import { CompressionTypes, type Kafka, type Producer } from "kafkajs";
import type { ServiceMetrics } from "./metrics.js";

export interface OutboundRecord {
  topic: string;
  key: Buffer | string | null;
  /** null: a tombstone (a key removed from a compacted topic). */
  value: Buffer | null;
  /** Set where the partition is not the key's (a changelog partition follows its input's). */
  partition?: number;
  headers?: Record<string, string | Buffer>;
}

/** Records grouped by topic, as kafkajs's sendBatch takes them. */
export function topicMessages(records: OutboundRecord[]) {
  return [...groupBy(records, (record) => record.topic)].map(([topic, list]) => ({
    topic,
    messages: list.map(({ key, value, partition, headers }) => ({
      key,
      value,
      ...(partition !== undefined && { partition }),
      ...(headers && { headers }),
    })),
  }));
}

export interface OutputProducer {
  connect(): Promise<void>;
  /** Resolves when every record is acknowledged by all in-sync replicas. */
  send(records: OutboundRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

export function createProducer(
  kafka: Kafka,
  metrics: ServiceMetrics,
  compression: "none" | "gzip" = "gzip",
): OutputProducer {
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    maxInFlightRequests: 5,
  });
  const codec = compression === "gzip" ? CompressionTypes.GZIP : CompressionTypes.None;
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(records) {
      if (records.length === 0) return;
      const batches = topicMessages(records);
      await producer.sendBatch({ acks: -1, compression: codec, topicMessages: batches });
      for (const { topic, messages } of batches) metrics.recordsOut.inc({ topic }, messages.length);
    },
  };
}

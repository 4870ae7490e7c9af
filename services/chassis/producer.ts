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

/** Records in one send at most, and their bytes (before compression): see `chunked`. */
export const SEND_RECORDS = 1_000;
export const SEND_BYTES = 512 * 1024;

/**
 * Records split into sends of at most `maxRecords` and `maxBytes` (a record larger than that goes
 * alone). kafkajs writes one record batch per partition per send and the broker refuses a batch
 * over its limit (1 MiB by default) whole: many records that each fit must not fail together.
 * Counting records too keeps kafkajs's grouping of a send by partition (quadratic) cheap.
 */
export function* chunked(
  records: OutboundRecord[],
  maxRecords = SEND_RECORDS,
  maxBytes = SEND_BYTES,
): Generator<OutboundRecord[]> {
  let chunk: OutboundRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = sizeOf(record);
    if (chunk.length > 0 && (chunk.length >= maxRecords || bytes + size > maxBytes)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

function sizeOf({ key, value, headers }: OutboundRecord): number {
  let n = (key === null ? 0 : key.length) + (value?.length ?? 0);
  for (const [name, v] of Object.entries(headers ?? {})) n += name.length + v.length;
  return n;
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
      for (const chunk of chunked(records)) {
        const batches = topicMessages(chunk);
        await producer.sendBatch({ acks: -1, compression: codec, topicMessages: batches });
        for (const { topic, messages } of batches)
          metrics.recordsOut.inc({ topic }, messages.length);
      }
    },
  };
}

// Dead letters: a record that cannot be processed is kept whole, with the stage and the reason,
// on the dead-letter topic — so the partition keeps moving and nothing is lost.
import { encode } from "../../schemas/codec.js";
import type { DeadLetter } from "../../schemas/types.js";
import type { ErrorCode } from "./errors.js";
import type { OutboundRecord } from "./producer.js";

export interface RawRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

export interface Failure {
  stage: string;
  code: ErrorCode;
  message: string;
}

export function deadLetterOf(record: RawRecord, failure: Failure, now: number): DeadLetter {
  return {
    originalTopic: record.topic,
    partition: record.partition,
    offset: Number(record.offset),
    key: record.key,
    value: record.value,
    headers: record.headers,
    failedStage: failure.stage,
    errorCode: failure.code,
    errorMessage: failure.message,
    time: now,
  };
}

export function deadLetterRecord(deadLetterTopic: string, letter: DeadLetter): OutboundRecord {
  return { topic: deadLetterTopic, key: letter.key, value: encode("dead-letter", letter) };
}

/** kafkajs headers may be strings, buffers or arrays of them; dead letters keep one buffer each. */
export function normaliseHeaders(
  headers: Record<string, unknown> | undefined,
): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined && first !== null)
      out[name] = Buffer.isBuffer(first) ? first : Buffer.from(String(first));
  }
  return out;
}

// Dead letters: a record that cannot be processed is kept, with the stage and the reason, on the
// dead-letter topic — so the partition keeps moving and nothing is lost.
//
// Every letter fits the broker's record limit, whatever the input: a reason is cut to
// MESSAGE_BYTES (a rejected 90 KB metric name quoted ten times must not make the letter larger
// than the record it describes), and when key, value and headers together exceed LETTER_BYTES the
// largest of them are left out. What was left out, and its size, is in `omitted`; the record
// itself stays where it was read: originalTopic / partition / offset.
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

/** A reason longer than this is cut, with a marker saying how long it was. */
export const MESSAGE_BYTES = 8 * 1024;
/** Key + value + headers of one letter; well under Kafka's default 1 MiB record batch. */
export const LETTER_BYTES = 256 * 1024;

type Part = "key" | "value" | "headers";

export function deadLetterOf(record: RawRecord, failure: Failure, now: number): DeadLetter {
  const omitted: Record<string, number> = {};
  const message = truncated(failure.message, MESSAGE_BYTES);
  if (message !== failure.message) omitted.errorMessage = Buffer.byteLength(failure.message);
  const parts: Pick<DeadLetter, Part> = {
    key: record.key,
    value: record.value,
    headers: record.headers,
  };
  const size: Record<Part, number> = {
    key: record.key?.length ?? 0,
    value: record.value?.length ?? 0,
    headers: Object.entries(record.headers).reduce((n, [k, v]) => n + k.length + v.length, 0),
  };
  // Largest first: the value usually, so a small key and headers still say whose record it was.
  for (const part of (["value", "headers", "key"] as Part[]).sort((a, b) => size[b] - size[a])) {
    if (size.key + size.value + size.headers <= LETTER_BYTES) break;
    omitted[part] = size[part];
    size[part] = 0;
    if (part === "headers") parts.headers = {};
    else parts[part] = null;
  }
  return {
    originalTopic: record.topic,
    partition: record.partition,
    offset: Number(record.offset),
    ...parts,
    failedStage: failure.stage,
    errorCode: failure.code,
    errorMessage: message,
    time: now,
    omitted,
  };
}

/** Per-item reasons of one letter: the first `shown`, each cut to REASON_BYTES, and how many more. */
export function reasonsText(reasons: string[], shown = 5): string {
  const listed = reasons.slice(0, shown).map((r) => truncated(r, REASON_BYTES));
  return listed.join("; ") + (reasons.length > shown ? ` (+${reasons.length - shown} more)` : "");
}

/** One reason among several (a rejected sample, a refused line) is cut to this. */
export const REASON_BYTES = 512;

/** `text` cut to at most `maxBytes` of UTF-8, marked with its original size when cut. */
export function truncated(text: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  const marker = ` … [truncated: ${bytes} bytes]`;
  // Cut on a character boundary: decoding a byte prefix may end in a half character (U+FFFD).
  const head = Buffer.from(text).subarray(0, maxBytes - Buffer.byteLength(marker) - 3);
  return head.toString("utf8").replace(/\uFFFD$/u, "") + marker;
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

/** Header a replayed record carries: the dead-letter topic, partition and offset it came from. */
export const REPLAY_HEADER = "vigil-replayed-from";

/**
 * The record a dead letter replays as — its original key, bytes and headers, to the topic it came
 * from — or undefined when the letter holds the record by reference only (see `omitted`).
 */
export function replayRecord(
  letter: DeadLetter,
  from: { topic: string; partition: number; offset: string },
): OutboundRecord | undefined {
  if (letter.value === null) return undefined;
  return {
    topic: letter.originalTopic,
    key: letter.key,
    value: letter.value,
    headers: {
      ...letter.headers,
      [REPLAY_HEADER]: `${from.topic}:${from.partition}:${from.offset}`,
    },
  };
}

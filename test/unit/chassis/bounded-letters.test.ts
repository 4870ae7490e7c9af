import { describe, expect, it } from "vitest";
import { decode } from "../../../schemas/codec.js";
import {
  deadLetterOf,
  deadLetterRecord,
  LETTER_BYTES,
  MESSAGE_BYTES,
  truncated,
} from "../../../services/chassis/dead-letter.js";
import { permanentProduceError } from "../../../services/chassis/kafka-errors.js";
import { chunked, type OutboundRecord } from "../../../services/chassis/producer.js";

const raw = (value: Buffer | null, headers: Record<string, Buffer> = {}) => ({
  topic: "in",
  partition: 2,
  offset: "41",
  key: Buffer.from("host-1"),
  value,
  headers,
});
const failure = (message: string) => ({
  stage: "validate",
  code: "VGL_VALIDATE" as const,
  message,
});

describe("bounded dead letters", () => {
  it("keeps a record that fits whole, with nothing omitted", () => {
    const letter = deadLetterOf(raw(Buffer.from("small")), failure("bad name"), 1);
    expect(letter).toMatchObject({
      value: Buffer.from("small"),
      errorMessage: "bad name",
      omitted: {},
    });
  });

  it("cuts a reason longer than the limit and says how long it was", () => {
    const message = "é".repeat(MESSAGE_BYTES);
    const letter = deadLetterOf(raw(null), failure(message), 1);
    expect(Buffer.byteLength(letter.errorMessage)).toBeLessThanOrEqual(MESSAGE_BYTES);
    expect(letter.errorMessage).toMatch(
      new RegExp(`^é+ … \\[truncated: ${2 * MESSAGE_BYTES} bytes\\]$`),
    );
    expect(letter.omitted).toEqual({ errorMessage: 2 * MESSAGE_BYTES });
  });

  it("leaves out a value over the letter limit but keeps key, headers and where the record is", () => {
    const value = Buffer.alloc(LETTER_BYTES + 1);
    const letter = deadLetterOf(raw(value, { trace: Buffer.from("t-1") }), failure("x"), 1);
    expect(letter).toMatchObject({
      originalTopic: "in",
      partition: 2,
      offset: 41,
      key: Buffer.from("host-1"),
      value: null,
      headers: { trace: Buffer.from("t-1") },
      omitted: { value: LETTER_BYTES + 1 },
    });
    const encoded = deadLetterRecord("dlq", letter).value!;
    expect(encoded.length).toBeLessThan(LETTER_BYTES);
    expect(decode("dead-letter", encoded).omitted).toEqual({ value: LETTER_BYTES + 1 });
  });

  it("leaves out headers too when they alone are over the limit", () => {
    const headers = { big: Buffer.alloc(LETTER_BYTES) };
    const letter = deadLetterOf(raw(Buffer.alloc(10), headers), failure("x"), 1);
    expect(letter.headers).toEqual({});
    expect(letter.value).toEqual(Buffer.alloc(10));
    expect(letter.omitted).toEqual({ headers: LETTER_BYTES + 3 });
  });

  it("never cuts a character in half", () => {
    expect(truncated("😀".repeat(100), 60)).toMatch(/^(😀)+ … \[truncated: 400 bytes\]$/u);
    expect(truncated("short", 60)).toBe("short");
  });
});

describe("sends in bounded chunks", () => {
  const record = (bytes: number): OutboundRecord => ({
    topic: "t",
    key: null,
    value: Buffer.alloc(bytes),
  });

  it("splits by bytes so no partition's batch outgrows the broker's limit, a large record alone", () => {
    const sizes = [
      ...chunked([record(300), record(300), record(500), record(2000), record(10)], 100, 1000),
    ].map((c) => c.map((r) => r.value!.length));
    expect(sizes).toEqual([[300, 300], [500], [2000], [10]]);
  });

  it("splits by count", () => {
    expect(
      [
        ...chunked(
          Array.from({ length: 5 }, () => record(1)),
          2,
          1000,
        ),
      ].map((c) => c.length),
    ).toEqual([2, 2, 1]);
  });
});

describe("produce errors", () => {
  const protocol = (type: string) => Object.assign(new Error(type), { type, retriable: false });

  it("names a refusal for good however deeply kafkajs wraps it", () => {
    const wrapped = Object.assign(new Error("retries exceeded"), {
      cause: protocol("MESSAGE_TOO_LARGE"),
    });
    expect(permanentProduceError(wrapped)).toBe("MESSAGE_TOO_LARGE");
    const aggregate = Object.assign(new Error("many"), {
      errors: [new Error("x"), protocol("TOPIC_AUTHORIZATION_FAILED")],
    });
    expect(permanentProduceError(aggregate)).toBe("TOPIC_AUTHORIZATION_FAILED");
  });

  it("leaves network and leadership errors to be retried", () => {
    expect(permanentProduceError(protocol("NOT_LEADER_FOR_PARTITION"))).toBeUndefined();
    expect(permanentProduceError(new Error("Connection timeout"))).toBeUndefined();
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    expect(permanentProduceError(loop)).toBeUndefined();
  });
});

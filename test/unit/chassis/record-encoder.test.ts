// The record encoder Vigil puts in kafkajs (services/chassis/kafkajs/record-encoder.cjs) writes
// what kafkajs's own wrote, byte for byte, and is the one kafkajs loads (scripts/patch-kafkajs.mjs).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

type Encoded = { buffer: Buffer };
type Encode = ((record: object) => Encoded) & { original?: (record: object) => Encoded };
const require = createRequire(import.meta.url);
const installed = require.resolve("kafkajs/src/protocol/recordBatch/record/v0/index.js");
const fast = require(installed) as Encode;
const kafkajs = fast.original!;
const Decoder = require("kafkajs/src/protocol/decoder.js") as new (buffer: Buffer) => {
  readVarInt(): number;
};
const decodeRecord = require("kafkajs/src/protocol/recordBatch/record/v0/decoder.js") as (
  decoder: unknown,
  context: object,
) => { key: Buffer | null; value: Buffer | null; offset: string; timestamp: string };

/** A small deterministic generator: the same cases on every run. */
function* cases() {
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => next(256)));
  const sizes = [0, 1, 63, 64, 127, 128, 8_191, 8_192, 16_384, 70_000];
  for (let i = 0; i < 400; i++) {
    const size = () => sizes[next(sizes.length)]!;
    const pick = next(4);
    const key = pick === 0 ? null : pick === 1 ? `key-${next(1e6)}-é` : bytes(size());
    const value = next(5) === 0 ? null : next(2) ? bytes(size()) : "v".repeat(size());
    yield {
      key,
      value,
      offsetDelta: [0, 1, 63, 64, 8_192, 2 ** 20][next(6)]!,
      timestampDelta: [0, 1, -1, 63, -64, 64, 1_000_000, -(2 ** 29), 2 ** 30 - 1][next(9)]!,
    };
  }
}

describe("the record encoder in kafkajs", () => {
  it("is the one kafkajs loads", () => {
    const ours = new URL("../../../services/chassis/kafkajs/record-encoder.cjs", import.meta.url);
    expect(readFileSync(installed, "utf8")).toBe(readFileSync(ours, "utf8"));
  });

  it("writes every generated record byte for byte as kafkajs did", () => {
    let compared = 0;
    for (const record of cases()) {
      expect(fast(record).buffer.equals(kafkajs(record).buffer)).toBe(true);
      compared += 1;
    }
    expect(compared).toBe(400);
  });

  it("writes records kafkajs's decoder reads back", () => {
    const record = { key: "k", value: Buffer.from("v"), offsetDelta: 5, timestampDelta: 12 };
    const decoder = new Decoder(fast(record).buffer);
    decoder.readVarInt(); // the record's length, read by the batch's decoder
    const decoded = decodeRecord(decoder, { firstOffset: "100", firstTimestamp: "1000" });
    expect(decoded).toMatchObject({ offset: "105", timestamp: "1012" });
    expect([decoded.key?.toString(), decoded.value?.toString()]).toEqual(["k", "v"]);
  });

  it("leaves records with headers and far timestamps to kafkajs's own encoding", () => {
    for (const record of [
      { key: "k", value: "v", headers: { a: "1", b: ["2", "3"] } },
      { key: "k", value: "v", timestampDelta: 2 ** 40 },
    ])
      expect(fast(record).buffer.equals(kafkajs(record).buffer)).toBe(true);
  });
});

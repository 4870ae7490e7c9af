// The kafkajs in node_modules carries Vigil's read_committed fix (scripts/patch-kafkajs.mjs): the
// chassis refuses to start without it, and the fix hides aborted records in any order.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { assertReadCommittedFixed } from "../../../services/chassis/kafkajs/fixes.js";

type Message = {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: object;
};
const filter = createRequire(import.meta.url)(
  "kafkajs/src/consumer/filterAbortedMessages.js",
) as (batch: {
  messages: Message[];
  abortedTransactions: { firstOffset: string; producerId: string }[];
}) => Message[];

const data = (offset: number, producerId: string): Message => ({
  offset: String(offset),
  key: Buffer.from(`v${offset}`),
  batchContext: { producerId, inTransaction: true },
});
const marker = (offset: number, producerId: string, commit: boolean): Message => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, commit ? 1 : 0]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

describe("kafkajs's read_committed filter, as installed", () => {
  it("is the fixed one: the chassis's start-up check passes", () => {
    expect(() => assertReadCommittedFixed()).not.toThrow();
  });

  it("drops the records of aborted transactions listed in the order they ended, keeping the committed ones", () => {
    const messages = [
      data(0, "a"),
      data(1, "b"),
      marker(2, "b", false),
      data(3, "a"),
      data(4, "c"),
      marker(5, "a", false),
      data(6, "c"),
      marker(7, "c", true),
    ];
    const kept = filter({
      messages,
      abortedTransactions: [
        { firstOffset: "1", producerId: "b" },
        { firstOffset: "0", producerId: "a" },
      ],
    }).filter((m) => !m.isControlRecord);
    expect(kept.map((m) => m.offset)).toEqual(["4", "6"]);
  });

  it("keeps a producer's later transaction once its aborted one has ended", () => {
    const kept = filter({
      messages: [data(0, "a"), marker(1, "a", false), data(2, "a"), marker(3, "a", true)],
      abortedTransactions: [{ firstOffset: "0", producerId: "a" }],
    }).filter((m) => !m.isControlRecord);
    expect(kept.map((m) => m.offset)).toEqual(["2"]);
  });
});

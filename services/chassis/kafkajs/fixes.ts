// At start, the chassis proves the kafkajs in use hides aborted records whatever order the broker
// lists their transactions in (filter-aborted-messages.cjs says why): a service that would read
// aborted output as committed refuses to start, saying how to put the fix in place.
import { createRequire } from "node:module";

type Filter = (batch: {
  messages: {
    offset: string;
    key: Buffer | null;
    isControlRecord?: boolean;
    batchContext: object;
  }[];
  abortedTransactions: { firstOffset: string; producerId: string }[];
}) => { offset: string }[];

let checked = false;

export function assertReadCommittedFixed(): void {
  if (checked) return;
  const require = createRequire(import.meta.url);
  const filter = require("kafkajs/src/consumer/filterAbortedMessages.js") as Filter;
  const record = (offset: string, producerId: string) => ({
    offset,
    key: Buffer.from(offset),
    batchContext: { producerId, inTransaction: true },
  });
  // Producer 1 began first and aborted last: the broker lists producer 2's abort first.
  const kept = filter({
    messages: [record("0", "1"), record("1", "2"), record("2", "3")],
    abortedTransactions: [
      { firstOffset: "1", producerId: "2" },
      { firstOffset: "0", producerId: "1" },
    ],
  });
  if (kept.map((m) => m.offset).join() !== "2")
    throw new Error(
      "kafkajs's read_committed filter lets aborted records through: run `node scripts/patch-kafkajs.mjs` (npm ci and npm start run it)",
    );
  checked = true;
}

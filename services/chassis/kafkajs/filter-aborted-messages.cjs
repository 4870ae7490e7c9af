// Vigil's replacement for kafkajs 2.2.4's src/consumer/filterAbortedMessages.js, copied over it at
// install by scripts/patch-kafkajs.mjs (kafkajs is unmaintained; the fix is upstream nowhere).
//
// What it fixes: a read_committed consumer saw records of aborted transactions. The broker lists
// the aborted transactions that overlap a fetch in the order they ENDED (its transaction index),
// and kafkajs took the list as sorted by first offset and stepped into at most one transaction
// per record: a transaction that began before another and aborted after it — or two that a fetch
// starts inside — leaked records. Kafka's own consumer (Fetcher) keeps the list in a priority
// queue by first offset and, before each record, takes in every transaction begun at or before
// it; an abort marker ends its producer's. This does the same.
//
// vigil-read-committed-fix (the patch script looks for this marker)
const Long = require("../utils/long");
const ABORTED_MESSAGE_KEY = Buffer.from([0, 0, 0, 0]);

const isAbortMarker = ({ key }) => {
  if (!key) return false;
  return Buffer.from(key).equals(ABORTED_MESSAGE_KEY);
};

module.exports = ({ messages, abortedTransactions }) => {
  if (!abortedTransactions || !abortedTransactions.length) {
    return messages;
  }
  const remaining = [...abortedTransactions].sort((a, b) =>
    Long.fromValue(a.firstOffset).compare(Long.fromValue(b.firstOffset)),
  );
  const aborting = new Set();

  return messages.filter((message) => {
    const offset = Long.fromValue(message.offset);
    while (remaining.length && offset.gte(Long.fromValue(remaining[0].firstOffset))) {
      aborting.add(String(remaining.shift().producerId));
    }
    const { producerId, inTransaction } = message.batchContext;
    if (message.isControlRecord) {
      if (isAbortMarker(message)) aborting.delete(String(producerId));
      return true;
    }
    return !(inTransaction && aborting.has(String(producerId)));
  });
};

// Reads a topic from its beginning to its end as of the call — the changelog or checkpoint
// topics a service restores from, the dead letters a replay walks — with a throwaway consumer
// group, reading committed records only. Transaction markers at the very end are never delivered,
// so reading also stops once nothing more has come for `idleMs`.
import type { Kafka, KafkaMessage } from "kafkajs";

export async function readToEnd(
  kafka: Kafka,
  topic: string,
  onBatch: (messages: KafkaMessage[], partition: number) => void | Promise<void>,
  options: { group: string; idleMs?: number },
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map(
    (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]),
  );
  await admin.disconnect();
  const pending = new Set(
    [...ends].filter(([, high]) => high > 0n).map(([partition]) => partition),
  );
  if (pending.size === 0) return;

  const consumer = kafka.consumer({
    groupId: `${options.group}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    maxWaitTimeInMs: 100,
    // State snapshots can be large: fetch a whole one at once.
    maxBytesPerPartition: 64 * 1024 * 1024,
    maxBytes: 128 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const idleMs = options.idleMs ?? 3_000;
  await new Promise<void>((resolve, reject) => {
    let idle = setTimeout(resolve, idleMs * 2); // the group join comes first
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          clearTimeout(idle);
          const end = ends.get(batch.partition) ?? 0n;
          await onBatch(
            batch.messages.filter((m) => BigInt(m.offset) < end),
            batch.partition,
          );
          if (BigInt(batch.lastOffset()) + 1n >= end) pending.delete(batch.partition);
          if (pending.size === 0) resolve();
          else idle = setTimeout(resolve, idleMs);
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
}

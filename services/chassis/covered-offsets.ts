// The input offsets a stage's state covers (its `~offsets` store: topic → the next offset to
// read), which only ever move forward: a batch wholly before them — redelivered from a stale
// committed offset — leaves them where they are; set to that batch's end, the next batch would
// run a second time.
import type { Kafka } from "kafkajs";
import type { KeyedStore } from "./state-store.js";

/** The later of two offsets (`covered` may be unknown). */
export const laterOffset = (covered: string | undefined, next: string): string =>
  covered !== undefined && BigInt(covered) > BigInt(next) ? covered : next;

/** Records that the state covers `topic` up to `next`, unless it already covers more. */
export function cover(covered: KeyedStore<string>, topic: string, next: string): void {
  covered.set(topic, laterOffset(covered.get(topic), next));
}

/**
 * Fills in, for each topic the store says nothing of (a stage without a changelog; one whose
 * changelog predates the store), the group's committed offset for `partition`. Called after the
 * task's writer initialised its transactional id, the id's last transaction is complete and its
 * offsets visible: stable, unlike those the consumer fetched when it joined (kafkajs cannot ask
 * for stable offsets) — a join right after a commit, or a commit whose answer was lost, would
 * otherwise run a batch twice.
 */
export async function coverFromGroup(
  covered: KeyedStore<string>,
  kafka: Kafka,
  groupId: string,
  topics: string[],
  partition: number,
): Promise<void> {
  const unknown = topics.filter((topic) => covered.get(topic) === undefined);
  if (unknown.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: unknown }))
      for (const p of partitions)
        if (p.partition === partition && BigInt(p.offset) >= 0n) covered.set(topic, p.offset);
  } finally {
    await admin.disconnect();
  }
}

// Reads a topic from its beginning to its end as of the call — the changelog or checkpoint
// topics a service restores from, the dead letters a replay walks — with a throwaway consumer
// group, reading committed records only. Transaction markers at the very end are never delivered,
// so reading also stops once nothing more has come for `idleMs`. With `partitions`, only those
// partitions are read (restoring one task reads one changelog partition, not the topic).
import {
  AssignerProtocol,
  type Admin,
  type Kafka,
  type KafkaMessage,
  type PartitionAssigner,
} from "kafkajs";

/** Gives the throwaway group's one member exactly `partitions` of `topic`. */
function onlyPartitions(topic: string, partitions: number[]): PartitionAssigner {
  return () => ({
    name: "VigilOnlyPartitions",
    version: 1,
    async assign({ members }) {
      return members.map(({ memberId }, i) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? { [topic]: partitions } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol: ({ topics }) => ({
      name: "VigilOnlyPartitions",
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: Buffer.alloc(0),
      }),
    }),
  });
}

/** Retriable answers while a new topic's leadership settles (or a leader moves): asked again. */
const SETTLING = new Set([
  "NOT_LEADER_FOR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "UNKNOWN_TOPIC_OR_PARTITION",
]);

/**
 * A topic's offsets per partition. Right after a topic is created a broker may not know yet that
 * it leads a partition, and a leader may move: those answers are asked again, for up to ~5 s.
 */
export async function topicOffsets(
  admin: Admin,
  topic: string,
): Promise<Awaited<ReturnType<Admin["fetchTopicOffsets"]>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      if (attempt >= 10 || !SETTLING.has((error as { type?: string }).type ?? "")) throw error;
      await new Promise((done) => setTimeout(done, 100 * attempt));
    }
  }
}

export async function readToEnd(
  kafka: Kafka,
  topic: string,
  onBatch: (messages: KafkaMessage[], partition: number) => void | Promise<void>,
  options: { group: string; idleMs?: number; partitions?: number[] },
): Promise<void> {
  const wanted = options.partitions && new Set(options.partitions);
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await topicOffsets(admin, topic);
  const ends = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
  await admin.disconnect();
  const pending = new Set(
    [...ends]
      .filter(([partition, high]) => high > 0n && (!wanted || wanted.has(partition)))
      .map(([partition]) => partition),
  );
  if (pending.size === 0) return;

  const consumer = kafka.consumer({
    groupId: `${options.group}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    maxWaitTimeInMs: 100,
    // State snapshots can be large: fetch a whole one at once.
    maxBytesPerPartition: 64 * 1024 * 1024,
    maxBytes: 128 * 1024 * 1024,
    ...(options.partitions && {
      partitionAssigners: [onlyPartitions(topic, options.partitions)],
    }),
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

/**
 * The latest value of every key of a compacted topic (or of some of its partitions), as a
 * restoring service needs it: a tombstone removes the key.
 */
export async function latestByKey(
  kafka: Kafka,
  topic: string,
  options: { group: string; idleMs?: number; partitions?: number[] },
): Promise<Map<string, Buffer>> {
  const latest = new Map<string, Buffer>();
  await readToEnd(
    kafka,
    topic,
    (messages) => {
      for (const m of messages) {
        if (!m.key) continue;
        const key = m.key.toString("utf8");
        if (m.value === null) latest.delete(key);
        else latest.set(key, m.value);
      }
    },
    options,
  );
  return latest;
}

// Topics a stage owns and creates itself when it starts, as Kafka Streams does for its internal
// topics: a stateful stage's changelog (compacted) and a pipeline's repartition topic. Each has at
// least as many partitions as the stage's widest input — task p writes to partition p.
import type { Kafka } from "kafkajs";

export interface InternalTopic {
  name: string;
  /** The topics whose partitions it must match. */
  partitionsOf: string[];
  compacted: boolean;
}

/**
 * Creates what is missing and checks the rest; answers each topic's partition count. A broker that is still starting (a fresh one
 * creating its internal topics) is asked again for up to `patienceMs`; a topic with too few
 * partitions is refused at once.
 */
export async function ensureInternalTopics(
  kafka: Kafka,
  wanted: InternalTopic[],
  patienceMs = 60_000,
): Promise<Map<string, number>> {
  const deadline = Date.now() + patienceMs;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await ensureOnce(kafka, wanted);
    } catch (error) {
      if (error instanceof TooFewPartitions || Date.now() + wait > deadline) throw error;
      await new Promise((done) => setTimeout(done, wait));
    }
  }
}

class TooFewPartitions extends Error {}

async function ensureOnce(kafka: Kafka, wanted: InternalTopic[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (wanted.length === 0) return counts;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const inputs = [...new Set(wanted.flatMap((t) => t.partitionsOf))];
    const { topics } = await admin.fetchTopicMetadata({ topics: inputs });
    const widthOf = new Map(topics.map((t) => [t.name, t.partitions.length]));
    const existing = new Set(await admin.listTopics());
    for (const topic of wanted) {
      const partitions = Math.max(...topic.partitionsOf.map((t) => widthOf.get(t) ?? 1));
      if (!existing.has(topic.name)) {
        const created = await admin
          .createTopics({
            waitForLeaders: true,
            topics: [
              {
                topic: topic.name,
                numPartitions: partitions,
                configEntries: topic.compacted
                  ? [
                      { name: "cleanup.policy", value: "compact" },
                      { name: "retention.ms", value: "-1" },
                      // A commit of a large batch changes many keys: room for them in one batch.
                      { name: "max.message.bytes", value: String(64 * 1024 * 1024) },
                    ]
                  : [],
              },
            ],
          })
          .then(
            () => true,
            (error: { type?: string }) => {
              if (error.type !== "TOPIC_ALREADY_EXISTS") throw error;
              return false; // another instance won the race: checked below like any other
            },
          );
        if (created) {
          counts.set(topic.name, partitions);
          continue;
        }
      }
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topic.name] })).topics;
      const has = meta?.partitions.length ?? 0;
      if (has < partitions)
        throw new TooFewPartitions(
          `topic ${topic.name} has ${has} partitions but its stage reads ${partitions}: a task's state or group would be split; add partitions to it (vigil topics apply) or delete it`,
        );
      counts.set(topic.name, has);
    }
    return counts;
  } finally {
    await admin.disconnect();
  }
}

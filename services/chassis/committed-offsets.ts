// A consumer group's committed offsets for one partition of each of its topics: the next offset
// the group would read, by topic; a topic the group never committed for is left out.
import type { Kafka } from "kafkajs";

export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topics: string[],
  partition: number,
): Promise<Map<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics });
    const out = new Map<string, string>();
    for (const { topic, partitions } of committed)
      for (const p of partitions)
        if (p.partition === partition && BigInt(p.offset) >= 0n) out.set(topic, p.offset);
    return out;
  } finally {
    await admin.disconnect();
  }
}

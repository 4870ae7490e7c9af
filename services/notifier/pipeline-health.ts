// What the console's pipeline-health page shows, read from Kafka (every Vigil service is a
// consumer group there): each group's state, members and lag; the dead letters by reason, and the
// latest of them to browse and replay one by one.
import type { KafkaAdmin as Admin } from "../chassis/kafka.js";
import type { DeadLetter } from "../../schemas/types.js";
import { topicOffsets } from "../chassis/read-to-end.js";

export interface LetterEntry {
  partition: number;
  offset: string;
  letter: DeadLetter;
}

/** Follows the dead-letter topic: counts by code and stage, and the latest letters. */
export class DeadLetterTail {
  private latest: LetterEntry[] = [];
  private counts = new Map<
    string,
    { errorCode: string; failedStage: string; count: number; last: number }
  >();
  total = 0;

  constructor(private readonly keep = 500) {}

  apply(partition: number, offset: string, letter: DeadLetter): void {
    this.total += 1;
    const key = `${letter.errorCode}\u0000${letter.failedStage}`;
    const known = this.counts.get(key) ?? {
      errorCode: letter.errorCode,
      failedStage: letter.failedStage,
      count: 0,
      last: 0,
    };
    known.count += 1;
    known.last = Math.max(known.last, letter.time);
    this.counts.set(key, known);
    this.latest.push({ partition, offset, letter });
    if (this.latest.length > this.keep) this.latest.shift();
  }

  byReason() {
    return [...this.counts.values()].sort((a, b) => b.count - a.count);
  }

  /** Newest first. */
  list(): LetterEntry[] {
    return [...this.latest].reverse();
  }

  find(partition: number, offset: string): LetterEntry | undefined {
    return this.latest.find((e) => e.partition === partition && e.offset === offset);
  }
}

export interface GroupHealth {
  group: string;
  state: string;
  members: number;
  /** Records not yet committed, over the group's topics. */
  lag: number;
  topics: { topic: string; lag: number }[];
}

/** Vigil's consumer groups with their state and lag; cached for a few seconds. */
export function groupHealth(admin: () => Promise<Admin>, prefix = "vigil-", cacheMs = 5_000) {
  let cached: { at: number; value: Promise<GroupHealth[]> } | undefined;
  async function read(): Promise<GroupHealth[]> {
    const a = await admin();
    const { groups } = await a.listGroups();
    const ids = groups
      // Not the throwaway groups services read or follow topics with.
      .filter((g) => g.groupId.startsWith(prefix) && !/-(read|tail)-/.test(g.groupId))
      .map((g) => g.groupId)
      .sort();
    if (ids.length === 0) return [];
    const described = new Map((await a.describeGroups(ids)).groups.map((g) => [g.groupId, g]));
    const high = new Map<string, Map<number, number>>();
    const out: GroupHealth[] = [];
    for (const group of ids) {
      const committed = await a.fetchOffsets({ groupId: group });
      const topics: GroupHealth["topics"] = [];
      for (const { topic, partitions } of committed) {
        if (!high.has(topic))
          high.set(
            topic,
            new Map((await topicOffsets(a, topic)).map((p) => [p.partition, Number(p.high)])),
          );
        const ends = high.get(topic)!;
        const lag = partitions.reduce((sum, p) => {
          const end = ends.get(p.partition) ?? 0;
          const at = Number(p.offset);
          return sum + (at < 0 ? end : Math.max(0, end - at));
        }, 0);
        topics.push({ topic, lag });
      }
      const d = described.get(group);
      out.push({
        group,
        state: d?.state ?? "Unknown",
        members: d?.members.length ?? 0,
        lag: topics.reduce((s, t) => s + t.lag, 0),
        topics,
      });
    }
    return out;
  }
  return (now: number): Promise<GroupHealth[]> => {
    if (!cached || now - cached.at > cacheMs) {
      cached = { at: now, value: read() };
      cached.value.catch(() => (cached = undefined));
    }
    return cached.value;
  };
}

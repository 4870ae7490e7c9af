// Reads a topic from its beginning to its end as of the call — the changelog or checkpoint
// topics a service restores from, the dead letters a replay walks — with a throwaway consumer
// group, reading committed records only. With `partitions`, only those partitions are read
// (restoring one task reads one changelog partition, not the topic).
//
// It returns only once every partition has been read up to the end offset taken at the start,
// never on a quiet spell: a restore that stopped early (a slow group join, a gap between two
// fetches on a loaded machine) would hand a task a prefix of its changelog — window keys of a
// commit without the input offsets of the same commit — and the task would count that batch
// again. The position is taken from every fetched batch, one of only transaction markers
// included (kafkajs reports those through END_BATCH_PROCESS without calling eachBatch). A read
// that makes no progress for `stallMs` fails, naming the partitions and how far it got — or, with
// `onStall: "stop"`, ends there: a read_committed reader cannot pass another producer's open
// transaction, so a reader of a topic live producers write (the alerts' state, a test's output)
// takes what was committed up to it. A restore, after fencing the only writer of its partition,
// never meets one: for it a stall is a fault.
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

export interface ReadToEndOptions {
  group: string;
  /** How long the read may go without progress before it fails (the group join included). */
  stallMs?: number;
  /** "fail" (the default): a stall is an error. "stop": the read ends with what it has. */
  onStall?: "fail" | "stop";
  partitions?: number[];
}

export class ReadIncomplete extends Error {
  override name = "ReadIncomplete";
}

/**
 * A read whose throwaway group cannot form yet — a broker just (re)started answers "coordinator
 * loading" for a while, past kafkajs's own retries — starts again, as long as nothing was handed
 * to `onBatch` and the stall limit is not spent; any other failure is the caller's.
 */
export async function readToEnd(
  kafka: Kafka,
  topic: string,
  onBatch: (messages: KafkaMessage[], partition: number) => void | Promise<void>,
  options: ReadToEndOptions,
): Promise<void> {
  const deadline = Date.now() + (options.stallMs ?? 60_000);
  let delivered = false;
  const handle = (messages: KafkaMessage[], partition: number) => {
    delivered = true;
    return onBatch(messages, partition);
  };
  for (;;) {
    try {
      return await readOnce(kafka, topic, handle, options);
    } catch (error) {
      const retriable =
        (error as { retriable?: boolean }).retriable === true ||
        (error as { originalError?: { retriable?: boolean } }).originalError?.retriable === true;
      if (delivered || !retriable || Date.now() + 1_000 > deadline) throw error;
      await new Promise((done) => setTimeout(done, 1_000));
    }
  }
}

async function readOnce(
  kafka: Kafka,
  topic: string,
  onBatch: (messages: KafkaMessage[], partition: number) => void | Promise<void>,
  options: ReadToEndOptions,
): Promise<void> {
  const wanted = options.partitions && new Set(options.partitions);
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await topicOffsets(admin, topic).finally(() => admin.disconnect());
  /** Partition → the offset the read must reach (the end as of now); empty partitions left out. */
  const ends = new Map(
    offsets
      .filter((p) => BigInt(p.high) > BigInt(p.low) && (!wanted || wanted.has(p.partition)))
      .map((p) => [p.partition, BigInt(p.high)]),
  );
  if (ends.size === 0) return;
  const reached = new Map<number, bigint>();
  /** Partition → the offset after the last record handed to `onBatch`. */
  const handed = new Map<number, bigint>();
  const pending = () => [...ends].filter(([p, end]) => (reached.get(p) ?? -1n) < end);

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
  const stallMs = options.stallMs ?? 60_000;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      let stall: NodeJS.Timeout | undefined;
      let joined = false;
      const progress = () => {
        clearTimeout(stall);
        if (pending().length === 0) return resolve();
        stall = setTimeout(() => {
          // A group that never formed read nothing: no stopping point.
          if (options.onStall === "stop" && joined) return resolve();
          const behind = pending().map(
            ([p, end]) => `partition ${p} at ${reached.get(p) ?? "start"} of ${end}`,
          );
          reject(
            new ReadIncomplete(
              `reading ${topic} made no progress for ${stallMs} ms: ${behind.join(", ")}`,
            ),
          );
        }, stallMs);
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const next = BigInt(payload.lastOffset) + 1n;
        if (next > (reached.get(payload.partition) ?? -1n)) reached.set(payload.partition, next);
        progress();
      });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = true;
        progress();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        clearTimeout(stall);
        reject(payload.error);
      });
      progress();
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            // A group that joins again (its coordinator moved: a broker restarted) has no offsets
            // committed and fetches from the start once more: nothing is handed on twice.
            const end = ends.get(batch.partition) ?? 0n;
            const from = handed.get(batch.partition) ?? -1n;
            const fresh = batch.messages.filter((m) => {
              const offset = BigInt(m.offset);
              return offset >= from && offset < end;
            });
            if (fresh.length === 0) return;
            await onBatch(fresh, batch.partition);
            handed.set(batch.partition, BigInt(fresh.at(-1)!.offset) + 1n);
          },
        })
        .catch((error: Error) => {
          clearTimeout(stall);
          reject(error);
        });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/**
 * The latest value of every key of a compacted topic (or of some of its partitions), as a
 * restoring service needs it: a tombstone removes the key.
 */
export async function latestByKey(
  kafka: Kafka,
  topic: string,
  options: ReadToEndOptions,
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

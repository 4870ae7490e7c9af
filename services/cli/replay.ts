// Replays dead letters to the topic they came from (e.g. after the bug that rejected them is
// fixed): the original key, bytes and headers, plus a header saying where the replay came from.
// Reads the dead-letter topic up to its end as of the start, so a replay that fails again and
// lands back in the dead-letter topic is not replayed twice in one run.
import type { KafkaClient as Kafka } from "../chassis/kafka.js";
import { decode } from "../../schemas/codec.js";
import type { DeadLetter } from "../../schemas/types.js";
import { replayRecord } from "../chassis/dead-letter.js";
import type { OutboundRecord, OutputProducer } from "../chassis/producer.js";
import { readToEnd } from "../chassis/read-to-end.js";

export interface ReplayFilter {
  topic?: string;
  code?: string;
  stage?: string;
  /** Only letters dead-lettered at or after this time (ms since epoch). */
  since?: number;
}

export interface ReplayResult {
  scanned: number;
  replayed: number;
  byTopic: Record<string, number>;
  /**
   * Letters whose record was too large to keep in the letter (see `omitted`): not replayed here;
   * the record is still at its topic / partition / offset.
   */
  byReference: number;
}

export { REPLAY_HEADER } from "../chassis/dead-letter.js";

export function matches(letter: DeadLetter, filter: ReplayFilter): boolean {
  return (
    (filter.topic === undefined || letter.originalTopic === filter.topic) &&
    (filter.code === undefined || letter.errorCode === filter.code) &&
    (filter.stage === undefined || letter.failedStage === filter.stage) &&
    (filter.since === undefined || letter.time >= filter.since)
  );
}

export async function replayDeadLetters(options: {
  kafka: Kafka;
  producer: OutputProducer;
  deadLetterTopic: string;
  filter: ReplayFilter;
  dryRun: boolean;
}): Promise<ReplayResult> {
  const { kafka, producer, deadLetterTopic, filter, dryRun } = options;
  const result: ReplayResult = { scanned: 0, replayed: 0, byTopic: {}, byReference: 0 };
  await readToEnd(
    kafka,
    deadLetterTopic,
    async (messages, partition) => {
      const out: OutboundRecord[] = [];
      for (const message of messages) {
        result.scanned += 1;
        const letter = decode("dead-letter", message.value);
        if (!matches(letter, filter)) continue;
        const record = replayRecord(letter, {
          topic: deadLetterTopic,
          partition,
          offset: message.offset,
        });
        if (!record) {
          if (letter.omitted?.value !== undefined) result.byReference += 1;
          continue;
        }
        out.push(record);
        result.byTopic[letter.originalTopic] = (result.byTopic[letter.originalTopic] ?? 0) + 1;
      }
      if (!dryRun) await producer.send(out);
      result.replayed += out.length;
    },
    // What is committed now: stages write their dead letters in their transactions.
    { group: "vigil-replay", onStall: "stop", stallMs: 10_000 },
  );
  return result;
}

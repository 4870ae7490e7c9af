// The vocabulary of the processing loop (processing-loop.ts): what a handler is given and
// returns, and how a guarantee takes part in a batch (a Processing gives turns; a Turn handles a
// batch and commits it at a CommitPoint).
import { ProduceRefused, permanentProduceError } from "./kafka-errors.js";
import type { Failure, RawRecord } from "./dead-letter.js";
import type { OutboundRecord, OutputProducer } from "./producer.js";

export interface InboundRecord<T> extends RawRecord {
  timestamp: string;
  value: Buffer | null;
  decoded: T;
}

export interface Rejection<T> extends Failure {
  record: InboundRecord<T>;
}

export interface HandlerResult<T> {
  outputs?: OutboundRecord[];
  /** Records the handler marks bad: they go to the dead-letter topic; the rest carry on. */
  rejected?: Rejection<T>[];
}

export interface BatchContext {
  topic: string;
  partition: number;
  /** One past the batch's last offset: what a commit of this batch stores. */
  nextOffset: string;
  /** Processing time when the batch began, injected. */
  now: number;
  /** Call during long work so the group does not think this member dead. */
  heartbeat: () => Promise<void>;
}

export type BatchHandler<T> = (
  records: InboundRecord<T>[],
  context: BatchContext,
) => Promise<HandlerResult<T>>;

/** Where a batch's commit stands: its offset, and the group commit at-least-once makes of it. */
export interface CommitPoint extends BatchContext {
  /** Commits `nextOffset` for the group; false when the partition is no longer ours. */
  commitOffset(): Promise<boolean>;
}

/** One batch's handling and commit, as a guarantee makes them. */
export interface Turn<T> {
  handle: BatchHandler<T>;
  /**
   * Makes `records` (the outputs and dead letters) and the batch's offset durable; false when the
   * partition is no longer ours (nothing committed: redelivered). Throws ProduceRefused when Kafka
   * refuses a record for good, anything else to be retried.
   */
  commit(records: OutboundRecord[], at: CommitPoint): Promise<boolean>;
}

/** How batches of a partition are processed: one turn at a time per task. */
export interface Processing<T> {
  turn<R>(partition: number, work: (turn: Turn<T>) => Promise<R>): Promise<R>;
}

export interface ConsumerHooks {
  /** After the batch's outputs are acknowledged, just before its offset is committed. */
  beforeCommit?: (topic: string, partition: number, nextOffset: string) => void | Promise<void>;
}

/** Sends records, turning a refusal for good into ProduceRefused (the loop sets it aside). */
export async function sendOrRefuse(producer: OutputProducer, records: OutboundRecord[]) {
  try {
    await producer.send(records);
  } catch (error) {
    const type = permanentProduceError(error);
    if (type) throw new ProduceRefused(type, (error as Error).message);
    throw error;
  }
}

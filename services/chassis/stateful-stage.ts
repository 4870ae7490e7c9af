// The stateful stage: the one way a Vigil service keeps state over a stream (pipelines, the
// detector). Per task — partition p of every input topic, assigned together — it keeps keyed
// state stores, and for each batch writes, in ONE Kafka transaction:
//
//   outputs + dead letters + changelog records of the keys that changed + the input offsets
//
//   input p ─► process(state, records) ─► outputs ┐
//                 │ store.set / delete             ├─► one transaction (transactional id <group>-<p>)
//                 └─► changed keys ─► changelog p ─┤
//   offsets of the batch ──────────────────────────┘
//
// * A failure anywhere aborts the transaction; the task's state is dropped and restored from its
//   changelog partition — which holds exactly what the last commit covered — and the batch runs
//   again. Nothing lost, nothing counted twice; every abort counted (vigil_transactions_total).
// * The state also records, per input topic, the offset it covers: records at or before it
//   (redelivered after a crash between commit and the group seeing it, or read from a committed
//   offset fetched before the last transaction's offsets were visible — kafkajs cannot ask for
//   stable offsets) are skipped, counted. A stage without a changelog (or whose changelog does
//   not hold it yet) takes that offset from the group's committed offsets, read when the task
//   opens — after its writer initialised the transactional id: the last commit complete, visible.
// * Restoring task p reads only changelog partition p (compacted: the latest value of each key).
// * The guarantee is the `processing` setting: exactly_once (the default) as above;
//   at_least_once sends the same records without a transaction and then commits the offsets —
//   cheaper, and a crash between the two may write a batch's outputs again.
// * Batches run on the chassis's one processing loop (processing-loop.ts), which decodes,
//   dead-letters and sets refused records aside; this file gives it the task's turns.
// * `tick` gives each task processing time (windows of quiet sources close, `for` timers run);
//   what it produces is committed the same way, so a failed write loses nothing: the state that
//   produced it is restored and produces it again.
import PQueue from "p-queue";
import { errorCodeOf, RetryableError } from "./errors.js";
import {
  createProcessingLoop,
  sendOrRefuse,
  type BatchConsumer,
  type BatchContext,
  type CommitPoint,
  type ConsumerHooks,
  type HandlerResult,
  type InboundRecord,
  type Processing,
} from "./processing-loop.js";
import { cover, coverFromGroup, laterOffset } from "./covered-offsets.js";
import { copartitionedAssigner } from "./copartitioned-assigner.js";
import { ensureInternalTopics } from "./internal-topics.js";
import { permanentProduceError, ProduceRefused } from "./kafka-errors.js";
import { every, type Periodic } from "./periodic.js";
import type { OutboundRecord } from "./producer.js";
import { latestByKey } from "./read-to-end.js";
import type { Service } from "./service.js";
import {
  consumerSettings,
  stageFetch,
  type ConsumerSettings,
  type Processing as Guarantee,
} from "./settings.js";
import { TaskStores } from "./state-store.js";
import { transactionalWriter, type TransactionalWriter } from "./transactions.js";

export interface StageContext {
  partition: number;
  /** Processing time, injected: when the batch (or the tick) began. */
  now: number;
  /**
   * Every input partition of the task is read to its end (as of the last fetch): a quiet task is
   * idle only then, never because the stage was busy with other partitions.
   */
  caughtUp: boolean;
}

/** What processing a batch gives: the batch's own context besides. */
export type BatchStageContext = StageContext & BatchContext;

export type StageResult<T> = HandlerResult<T>;

export interface StatefulStageOptions<T, S> {
  service: Pick<Service, "kafka" | "metrics" | "logger" | "producer">;
  /** Names the stage in logs and metrics. */
  name: string;
  groupId: string;
  topics: string[];
  /** Compacted changelog topic of the stage's stores; none: a stateless stage (still exactly once). */
  changelog?: string;
  deadLetterTopic: string;
  /** The guarantee: exactly_once unless said. */
  processing?: Guarantee;
  concurrency?: number;
  sessionTimeout?: number;
  /** Called once a batch's outputs are written, before its offsets are committed (tests). */
  hooks?: ConsumerHooks;
  /** The consumer's own settings (fetch bounds, retries…), over the stage's. */
  consumer?: Partial<ConsumerSettings>;
  decode: (topic: string, value: Buffer | null) => T;
  /** The task's state over its stores (as restored from the changelog). */
  open: (stores: TaskStores, partition: number) => S;
  process: (
    state: S,
    records: InboundRecord<T>[],
    context: BatchStageContext,
  ) => StageResult<T> | Promise<StageResult<T>>;
  tick?: { every: number; run: (state: S, context: StageContext) => OutboundRecord[] };
  /** Keys of a task's state, for the vigil_state_keys gauge. */
  size?: (state: S) => number;
  now?: () => number;
}

export interface StatefulStage {
  start(): Promise<void>;
  stop(): Promise<void>;
  notReady(): string | undefined;
}

interface Task<S> {
  partition: number;
  /** The entry of `tasks` this task was made for: only it may be removed on the task's behalf. */
  entry?: Promise<Task<S>>;
  /** exactly_once: the task's transactional writer. */
  writer?: TransactionalWriter;
  turns: PQueue;
  openedAt: number;
  loaded?: { stores: TaskStores; state: S };
}

const OFFSETS = "~offsets";
/** A task whose input was never fetched since it opened counts as caught up after this long. */
const FIRST_FETCH_MS = 10_000;

export function createStatefulStage<T, S>(options: StatefulStageOptions<T, S>): StatefulStage {
  const { service, groupId } = options;
  const { kafka, metrics } = service;
  const exactlyOnce = (options.processing ?? "exactly_once") === "exactly_once";
  const now = options.now ?? Date.now;
  const log = service.logger.child({ stage: options.name });
  const tasks = new Map<number, Promise<Task<S>>>();
  let seenAssignment: ReadonlySet<string> | undefined;
  let ticker: Periodic | undefined;

  const processing: Processing<T> = {
    async turn(partition, work) {
      // A task that cannot start (its transactional id not initialised yet: a broker still
      // loading its transaction coordinator) is the transport's fault, never the batch's: retried.
      const t = await task(partition).catch((error: Error) => {
        throw new RetryableError(
          `task ${partition} of ${options.name} cannot start: ${error.message}`,
        );
      });
      return (await t.turns.add(async () => {
        if (!isCurrent(t))
          throw new RetryableError(`task ${t.partition} was dropped; starting it again`);
        return work({
          handle: (records, context) => handle(t, records, context),
          commit: (records, at) => commitBatch(t, records, at),
        });
      })) as Awaited<ReturnType<typeof work>>;
    },
  };

  const consumer: BatchConsumer = createProcessingLoop<T>({
    kafka,
    producer: service.producer,
    settings: consumerSettings.parse({
      groupId,
      topics: options.topics,
      ...(options.concurrency && { concurrency: options.concurrency }),
      ...(options.sessionTimeout && { sessionTimeout: options.sessionTimeout }),
      // A stage without state fetches as a plain consumer does (its commits write no keys).
      ...(options.changelog && stageFetch),
      ...options.consumer,
      processing: exactlyOnce ? "exactly_once" : "at_least_once",
    }),
    deadLetterTopic: options.deadLetterTopic,
    decode: options.decode,
    processing,
    ...(options.hooks && { hooks: options.hooks }),
    metrics,
    logger: log,
    now,
    partitionAssigners: [copartitionedAssigner],
  });

  function assignedPartitions(): number[] {
    const parts = new Set<number>();
    for (const at of consumer.assignment()) parts.add(Number(at.slice(at.lastIndexOf(":") + 1)));
    return [...parts];
  }

  /** After a rebalance every task starts again: another instance may have moved its state on. */
  function forgetIfRebalanced(): void {
    const assignment = consumer.assignment();
    if (assignment === seenAssignment) return;
    seenAssignment = assignment;
    for (const [partition, task] of tasks) {
      tasks.delete(partition);
      void task.then(close, () => undefined);
    }
  }

  async function close(task: Task<S>): Promise<void> {
    await task.turns.onIdle();
    await task.writer?.close().catch(() => undefined);
  }

  function task(partition: number): Promise<Task<S>> {
    forgetIfRebalanced();
    let found = tasks.get(partition);
    if (!found) {
      // Initialising the transactional id fences the partition's previous owner and aborts its
      // open transaction, so the changelog read next is final.
      found = (
        exactlyOnce
          ? transactionalWriter(kafka, `${groupId}-${partition}`, metrics)
          : Promise.resolve(undefined)
      ).then((writer) => ({
        partition,
        ...(writer && { writer }),
        turns: new PQueue({ concurrency: 1 }),
        openedAt: now(),
      }));
      tasks.set(partition, found);
      const entry = found;
      found.then(
        (t) => (t.entry = entry),
        () => tasks.get(partition) === entry && tasks.delete(partition),
      );
    }
    return found;
  }

  /** Drops a task (state and writer): its next use restores it from the changelog. */
  function drop(t: Task<S>): void {
    if (t.entry !== undefined && tasks.get(t.partition) === t.entry) tasks.delete(t.partition);
    t.loaded = undefined;
    void t.writer?.close().catch(() => undefined);
  }
  async function load(t: Task<S>, heartbeat?: () => Promise<void>) {
    if (t.loaded) return t.loaded;
    const started = now();
    const stores = new TaskStores(options.changelog, t.partition, (key, error) => {
      metrics.dropped.inc({ reason: `${options.name}:unreadable_state` });
      log.error({ partition: t.partition, key, err: error }, "state record unreadable; left out");
    });
    if (options.changelog) {
      const beat = heartbeat && setInterval(() => void heartbeat().catch(() => undefined), 1_000);
      try {
        const latest = await latestByKey(kafka, options.changelog, {
          group: `${groupId}-restore`,
          partitions: [t.partition],
        });
        for (const [key, value] of latest) stores.restore(key, value);
      } catch (error) {
        throw new RetryableError(
          `cannot restore state from ${options.changelog} partition ${t.partition}: ${(error as Error).message}`,
        );
      } finally {
        if (beat) clearInterval(beat);
      }
    }
    // What the changelog does not say the last commit covered, the group's committed offsets do
    // (read after this task's writer initialised its id: see covered-offsets.ts).
    const covered = stores.store<string>(OFFSETS);
    try {
      await coverFromGroup(covered, kafka, groupId, options.topics, t.partition);
    } catch (error) {
      throw new RetryableError(
        `cannot read the committed offsets of ${groupId} partition ${t.partition}: ${(error as Error).message}`,
      );
    }
    t.loaded = { stores, state: options.open(stores, t.partition) };
    metrics.stateRestores.observe((now() - started) / 1000);
    if (stores.size > 0)
      log.info(
        { partition: t.partition, keys: stores.size, seconds: (now() - started) / 1000 },
        "state restored",
      );
    return t.loaded;
  }

  function caughtUp(t: Task<S>): boolean {
    return options.topics.every((topic) => {
      const lag = consumer.lag(topic, t.partition);
      return lag === undefined ? now() - t.openedAt >= FIRST_FETCH_MS : lag <= 0;
    });
  }

  /**
   * Writes what a turn produced with the changed keys — and, for a batch, its offsets: in one
   * transaction (exactly_once), or sent and then committed through the group (at_least_once). On
   * failure the task's state is dropped, to be restored from the changelog.
   */
  async function commit(t: Task<S>, records: OutboundRecord[], at?: CommitPoint) {
    const changes = t.loaded?.stores.changes() ?? [];
    let done = true;
    try {
      if (t.writer)
        await t.writer.commit(
          [...records, ...changes],
          at && {
            groupId,
            inputs: [
              {
                topic: at.topic,
                partition: at.partition,
                // What the state covers (never less than the batch: the group's offset never back).
                offset: laterOffset(
                  t.loaded?.stores.store<string>(OFFSETS).get(at.topic),
                  at.nextOffset,
                ),
              },
            ],
          },
          at && (() => options.hooks?.beforeCommit?.(at.topic, at.partition, at.nextOffset)),
        );
      else await sendOrRefuse(service.producer, [...records, ...changes]);
    } catch (error) {
      const refused = permanentProduceError(error);
      const message = `${exactlyOnce ? "transaction" : "commit"} of ${options.name} partition ${t.partition} failed: ${(error as Error).message}`;
      if (refused) {
        // Nothing was committed (a transaction aborts) and the writer is still ours: only the
        // state is restored.
        t.loaded = undefined;
        throw new ProduceRefused(refused, message);
      }
      drop(t);
      throw new RetryableError(message);
    }
    if (!t.writer && at) done = await at.commitOffset();
    metrics.changelogRecords.inc({ stage: options.name }, changes.length);
    let bytes = 0;
    for (const c of changes) bytes += String(c.key).length + (c.value?.length ?? 0);
    metrics.changelogBytes.inc({ stage: options.name }, bytes);
    if (t.loaded && options.size)
      metrics.stateKeys.set(
        { stage: options.name, partition: String(t.partition) },
        options.size(t.loaded.state),
      );
    return done;
  }

  /** Processes a batch against the task's state; what it produced is committed next. */
  async function handle(
    t: Task<S>,
    records: InboundRecord<T>[],
    context: BatchContext,
  ): Promise<HandlerResult<T>> {
    const { stores, state } = await load(t, context.heartbeat);
    const from = BigInt(stores.store<string>(OFFSETS).get(context.topic) ?? "0");
    const fresh = records.filter((r) => BigInt(r.offset) >= from);
    if (fresh.length < records.length)
      metrics.dropped.inc(
        { reason: `${options.name}:already_in_state` },
        records.length - fresh.length,
      );
    if (fresh.length === 0) return {};
    try {
      return await options.process(state, fresh, { ...context, caughtUp: caughtUp(t) });
    } catch (error) {
      // Whatever the batch did to the state is discarded: restored again from the changelog.
      t.loaded = undefined;
      if (error instanceof RetryableError) throw error;
      // Not the transport's fault: the batch goes to the dead letters.
      log.error({ err: error, partition: t.partition }, "stage failed for the batch");
      const message = `${options.name} failed for the batch: ${(error as Error).message}`;
      const code = errorCodeOf(error, "VGL_HANDLER_FAILED");
      return { rejected: fresh.map((record) => ({ record, stage: options.name, code, message })) };
    }
  }

  /** A batch's records and its offsets: the state covers the batch from now on. */
  async function commitBatch(t: Task<S>, records: OutboundRecord[], at: CommitPoint) {
    const { stores } = await load(t, at.heartbeat);
    // Never back: a batch wholly before what the state covers (redelivered from a stale committed
    // offset) leaves it where it is — set to the batch's end, the next batch would run again.
    cover(stores.store<string>(OFFSETS), at.topic, at.nextOffset);
    return commit(t, records, at);
  }

  function isCurrent(t: Task<S>): boolean {
    forgetIfRebalanced();
    const current = tasks.get(t.partition);
    return current !== undefined && current === t.entry;
  }
  async function tickAll(): Promise<void> {
    const run = options.tick!.run;
    forgetIfRebalanced();
    await Promise.all(
      assignedPartitions().map(async (partition) => {
        let t: Task<S>;
        try {
          t = await task(partition);
        } catch (error) {
          log.warn({ err: error, partition }, "task could not start; retried next tick");
          return;
        }
        await t.turns.add(async () => {
          if (!isCurrent(t)) return;
          try {
            const { stores, state } = await load(t);
            const outputs = run(state, { partition, now: now(), caughtUp: caughtUp(t) });
            if (outputs.length > 0 || stores.pending > 0) await commit(t, outputs);
          } catch (error) {
            drop(t);
            metrics.retries.inc({ stage: "tick" });
            log.warn(
              { err: error, partition },
              "tick could not commit; state restored and retried next tick",
            );
          }
        });
      }),
    );
  }

  return {
    async start() {
      if (options.changelog)
        await ensureInternalTopics(kafka, [
          { name: options.changelog, partitionsOf: options.topics, compacted: true },
        ]);
      await consumer.start();
      if (options.tick) ticker = every(options.tick.every, tickAll, now);
    },
    async stop() {
      await ticker?.stop();
      await consumer.stop();
      const open = [...tasks.values()];
      tasks.clear();
      await Promise.all(open.map((t) => t.then(close, () => undefined)));
    },
    notReady: () => consumer.notReady(),
  };
}

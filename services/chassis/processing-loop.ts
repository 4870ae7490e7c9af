// The one processing loop every consuming service runs on (sinks, log pipeline, notifier
// directly; pipelines and detector through a stage's `Processing`). Per batch of one partition:
//   decode → handle → dead letters of what was undecodable or rejected → commit → next batch
// * It alone decodes, builds dead letters, sets aside what Kafka refuses for good and commits;
//   handlers return outputs and rejections. The `processing` setting is the guarantee:
//   at_least_once sends the records (acks=all), then commits the offset through the group;
//   exactly_once (a stage's) writes them and the offset in one Kafka transaction.
// * Offsets are committed only after the outputs are durable, only while the partition is ours.
// * A record that cannot be decoded, or that the handler marks bad, goes to the dead-letter topic
//   with the reason; the partition keeps moving. A handler that throws a non-retryable error
//   dead-letters its whole batch. When Kafka refuses an output for good (too large, topic
//   missing), the batch runs again one record at a time and only the record whose output cannot
//   be written is set aside, as a dead letter.
// * Anything else (a RetryableError of the handler, the transport) retries the whole batch with
//   backoff while heartbeating; the partition pauses, so memory stays bounded.
// * Per-partition order holds (kafkajs hands one partition one batch at a time); batches of
//   different partitions run concurrently, bounded by a p-queue.
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, PartitionAssigner } from "kafkajs";
import PQueue from "p-queue";
import { deadLetterOf, deadLetterRecord, normaliseHeaders } from "./dead-letter.js";
import { RetryableError, errorCodeOf } from "./errors.js";
import { ProduceRefused } from "./kafka-errors.js";
import type { Logger } from "./logger.js";
import type { ServiceMetrics } from "./metrics.js";
import type { OutputProducer } from "./producer.js";
import type { ConsumerSettings } from "./settings.js";
import {
  sendOrRefuse,
  type BatchContext,
  type BatchHandler,
  type CommitPoint,
  type ConsumerHooks,
  type HandlerResult,
  type InboundRecord,
  type Processing,
  type Rejection,
  type Turn,
} from "./batch-types.js";

export * from "./batch-types.js";

export interface ProcessingLoopOptions<T> {
  kafka: Kafka;
  producer: OutputProducer;
  settings: ConsumerSettings;
  deadLetterTopic: string;
  /** Turns a record value into the handler's input; throws (with a `code`) when it cannot. */
  decode: (topic: string, value: Buffer | null) => T;
  /** The at-least-once handler; or `processing`, a stage's own turns. */
  handler?: BatchHandler<T>;
  processing?: Processing<T>;
  metrics: ServiceMetrics;
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  hooks?: ConsumerHooks;
  /** How the group shares partitions; kafkajs's round robin when not given. */
  partitionAssigners?: PartitionAssigner[];
}

export interface BatchConsumer {
  start(): Promise<void>;
  /** Stops fetching, lets in-flight batches finish and commit, then leaves the group. */
  stop(): Promise<void>;
  /** Undefined when connected with partitions assigned, else why not. */
  notReady(): string | undefined;
  /** Partitions this member owns now, as "topic:partition"; a new set after each rebalance. */
  assignment(): ReadonlySet<string>;
  /**
   * Records behind the partition's end after the last batch fetched (control records such as
   * transaction markers included); undefined before the first fetch since the last rebalance.
   */
  lag(topic: string, partition: number): number | undefined;
}

const NOT_OWNER_ERRORS = new Set([
  "UNKNOWN_MEMBER_ID",
  "ILLEGAL_GENERATION",
  "REBALANCE_IN_PROGRESS",
  "FENCED_INSTANCE_ID",
]);
const realSleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
const tp = (topic: string, partition: number) => `${topic}:${partition}`;
const after = (offset: string) => (BigInt(offset) + 1n).toString();

export function createProcessingLoop<T>(options: ProcessingLoopOptions<T>): BatchConsumer {
  const { kafka, producer, settings, metrics, logger, hooks } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const log = logger.child({ component: "consumer", groupId: settings.groupId });
  const queue = new PQueue({ concurrency: settings.concurrency });
  let owned = new Set<string>();
  const lags = new Map<string, number>();
  let connected = false;
  let joined = false;
  /** Partitions whose batch keeps failing: since when, and why (for /readyz). */
  const stalled = new Map<string, { since: number; reason: string }>();

  const handler = options.handler;
  const processing: Processing<T> = options.processing ?? {
    turn: (_partition, work) =>
      work({
        handle: handler!,
        async commit(records, at) {
          await sendOrRefuse(producer, records);
          return at.commitOffset();
        },
      }),
  };
  if (!options.processing && !handler) throw new Error("a processing loop needs a handler");

  const consumer: Consumer = kafka.consumer({
    groupId: settings.groupId,
    sessionTimeout: settings.sessionTimeout,
    rebalanceTimeout: settings.rebalanceTimeout,
    heartbeatInterval: settings.heartbeatInterval,
    maxBytesPerPartition: settings.maxBytesPerPartition,
    maxBytes: settings.maxBytes,
    allowAutoTopicCreation: false,
    ...(options.partitionAssigners && { partitionAssigners: options.partitionAssigners }),
  });
  let crashed: string | undefined;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let restartDelay = 1_000;
  let runConfig: Parameters<Consumer["run"]>[0];
  consumer.on(consumer.events.CONNECT, () => (connected = true));
  consumer.on(consumer.events.DISCONNECT, () => (connected = false));
  // kafkajs restarts a consumer that crashed on a retriable error (a broker restarted, say) by
  // disconnecting and starting it again — without emitting CONNECT: joining the group is what says
  // it is connected again, or /readyz would stay red for good on a consumer at work.
  // One it does not restart — KafkaJSGroupCoordinatorNotFound, say, which it throws as
  // non-retriable when no broker answered the lookup (every broker restarting at once: found by
  // the soak) — is started again here, backing off, until it has joined its group again: a
  // partition is never left unconsumed because the cluster was away for a while. /readyz says why
  // meanwhile.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    connected = false;
    log.error({ err: payload.error, restart: payload.restart }, "consumer crashed");
    if (payload.restart || stopping) return;
    crashed = payload.error.message;
    restartLater();
  });
  function restartLater() {
    const wait = restartDelay;
    restartDelay = Math.min(restartDelay * 2, Math.max(settings.retry.max, 1_000));
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      if (stopping) return;
      log.warn({ afterMs: wait }, "starting the crashed consumer again");
      consumer.run(runConfig).catch((error: unknown) => {
        log.error({ err: error }, "consumer could not start again; retrying");
        restartLater();
      });
    }, wait);
  }
  consumer.on(consumer.events.REBALANCING, () => {
    // Eager rebalancing: every partition is revoked until the group settles again.
    owned = new Set();
    lags.clear();
    stalled.clear();
    joined = false;
  });
  // Emitted for every fetched batch — also one holding only a transaction marker, which kafkajs
  // resolves without calling eachBatch — so the lag seen here reaches 0 when we are caught up.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
    lags.set(tp(payload.topic, payload.partition), Number(payload.offsetLag)),
  );
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    owned = new Set(
      Object.entries(payload.memberAssignment).flatMap(([topic, parts]) =>
        parts.map((p) => tp(topic, p)),
      ),
    );
    joined = true;
    connected = true;
    crashed = undefined;
    restartDelay = 1_000;
    log.info({ assignment: [...owned] }, "partitions assigned");
  });

  /**
   * Runs `work` until it succeeds, backing off; gives up only when the batch is no longer ours
   * ("abandoned") or Kafka refused an output for good (returned, for the caller to set aside).
   */
  async function untilDone(
    payload: EachBatchPayload,
    work: () => Promise<boolean>,
  ): Promise<boolean | "abandoned" | ProduceRefused> {
    let delay = settings.retry.initial;
    const at = tp(payload.batch.topic, payload.batch.partition);
    for (;;) {
      try {
        const done = await work();
        stalled.delete(at);
        return done;
      } catch (error) {
        if (error instanceof ProduceRefused) {
          stalled.delete(at);
          return error;
        }
        if (!payload.isRunning() || payload.isStale()) {
          stalled.delete(at);
          return "abandoned";
        }
        const stage = error instanceof RetryableError ? "handler" : "produce";
        stalled.set(at, {
          since: stalled.get(at)?.since ?? now(),
          reason: `${stage}: ${(error as Error).message}`,
        });
        metrics.retries.inc({ stage });
        const wait = Math.min(
          Math.max(delay, (error as RetryableError).retryAfterMs ?? 0),
          settings.retry.max,
        );
        log.warn(
          { stage, err: error, retryInMs: wait },
          "batch failed; retrying, partition paused meanwhile",
        );
        await sleep(wait);
        await payload.heartbeat().catch(() => undefined);
        delay = Math.min(delay * 2, settings.retry.max);
      }
    }
  }

  function toInbound(
    topic: string,
    partition: number,
    message: KafkaMessage,
  ): InboundRecord<T> | Rejection<T> {
    const raw: InboundRecord<T> = {
      topic,
      partition,
      offset: message.offset,
      key: message.key ?? null,
      value: message.value ?? null,
      headers: normaliseHeaders(message.headers),
      timestamp: message.timestamp,
      decoded: undefined as T,
    };
    try {
      raw.decoded = options.decode(topic, raw.value);
      return raw;
    } catch (error) {
      return {
        record: raw,
        stage: "decode",
        code: errorCodeOf(error, "VGL_DECODE_BODY"),
        message: (error as Error).message,
      };
    }
  }

  /** The group commit of one batch's offset, through its payload, only while it is ours. */
  function commitPoint(payload: EachBatchPayload, context: BatchContext): CommitPoint {
    const { topic, partition, nextOffset } = context;
    return {
      ...context,
      async commitOffset() {
        await hooks?.beforeCommit?.(topic, partition, nextOffset);
        if (payload.isStale() || !owned.has(tp(topic, partition))) {
          // Whoever owns the partition now will process these records again: at-least-once.
          metrics.commits.inc({ result: "skipped_revoked" });
          log.warn(
            { topic, partition, offset: nextOffset },
            "partition no longer ours; offset not committed",
          );
          return false;
        }
        try {
          // Through the batch payload, not consumer.commitOffsets: kafkajs silently drops the
          // latter once stop() has begun, which would lose the commits of a graceful drain. The
          // broker still fences it by generation and member id.
          await payload.commitOffsetsIfNecessary({
            topics: [{ topic, partitions: [{ partition, offset: nextOffset }] }],
          });
          return true;
        } catch (error) {
          // The broker fences commits from a member the group has moved on from: that is the
          // revocation we could not see coming (e.g. our session expired while we worked).
          const fenced = NOT_OWNER_ERRORS.has((error as { type?: string }).type ?? "");
          metrics.commits.inc({ result: fenced ? "rejected_not_owner" : "failed" });
          log.warn(
            { err: error, topic, partition, offset: nextOffset },
            "offset commit refused; records will be redelivered",
          );
          return false;
        }
      },
    };
  }

  /** Handles records, dead-letters what is bad, commits it all; false: not ours any more. */
  async function once(
    turn: Turn<T>,
    records: InboundRecord<T>[],
    bad: Rejection<T>[],
    at: CommitPoint,
  ): Promise<boolean> {
    let result: HandlerResult<T> = {};
    if (records.length > 0)
      try {
        result = await turn.handle(records, at);
      } catch (error) {
        if (error instanceof RetryableError) throw error;
        // Not the transport's fault: the batch goes to the dead letters.
        const message = `handler failed for the batch: ${(error as Error).message}`;
        log.error({ err: error, topic: at.topic, partition: at.partition }, message);
        const code = errorCodeOf(error, "VGL_HANDLER_FAILED");
        result = {
          rejected: records.map((record) => ({ record, stage: "handler", code, message })),
        };
      }
    const rejected = [...bad, ...(result.rejected ?? [])];
    const letters = rejected.map((r) =>
      deadLetterRecord(options.deadLetterTopic, deadLetterOf(r.record, r, now())),
    );
    if (!(await turn.commit([...(result.outputs ?? []), ...letters], at))) return false;
    for (const r of rejected) {
      metrics.deadLetters.inc({ code: r.code });
      metrics.dropped.inc({ reason: `dead_letter:${r.code}` });
    }
    return true;
  }

  /** A refused batch again, one record per commit; a record still refused is set aside. */
  async function oneByOne(
    turn: Turn<T>,
    records: InboundRecord<T>[],
    bad: Rejection<T>[],
    at: CommitPoint,
    payload: EachBatchPayload,
  ): Promise<boolean> {
    let pending = bad;
    for (const record of records) {
      const single = commitPoint(payload, { ...at, nextOffset: after(record.offset) });
      try {
        if (!(await once(turn, [record], pending, single))) return false;
      } catch (error) {
        if (!(error instanceof ProduceRefused)) throw error;
        log.warn({ err: error, offset: record.offset }, "output refused for good; set aside");
        const message = `Kafka refused the output of this record for good (${error.type}): ${error.message}`;
        const letter: Rejection<T> = {
          record,
          stage: "produce",
          code: "VGL_PRODUCE_REFUSED",
          message,
        };
        try {
          if (!(await once(turn, [], [...pending, letter], single))) return false;
        } catch (again) {
          if (!(again instanceof ProduceRefused)) throw again;
          // Not even the dead letter can be written (the topic missing, or not ours to write): a
          // fault of the deployment, retried — and visible: the partition stalls on /readyz.
          throw new RetryableError(`dead letter refused: ${again.message}`);
        }
      }
      pending = [];
    }
    // Undecodable records after the last decodable one.
    return pending.length === 0 || once(turn, [], pending, at);
  }

  async function processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.isEmpty()) return;
    const started = now();
    const { topic, partition } = batch;
    metrics.recordsIn.inc({ topic }, batch.messages.length);
    metrics.batchSize.observe(batch.messages.length);

    const records: InboundRecord<T>[] = [];
    const bad: Rejection<T>[] = [];
    for (const message of batch.messages) {
      const item = toInbound(topic, partition, message);
      if ("record" in item) bad.push(item);
      else records.push(item);
    }
    const next = after(batch.lastOffset());
    const at = commitPoint(payload, {
      topic,
      partition,
      nextOffset: next,
      now: started,
      heartbeat: () => payload.heartbeat(),
    });
    let done = await untilDone(payload, () =>
      processing.turn(partition, (turn) => once(turn, records, bad, at)),
    );
    if (done instanceof ProduceRefused) {
      log.warn({ topic, partition, err: done }, "batch refused; records one at a time");
      done = await untilDone(payload, async () => {
        const again = await processing.turn(partition, (turn) =>
          oneByOne(turn, records, bad, at, payload),
        );
        return again;
      });
      if (done instanceof ProduceRefused) throw new Error("unreachable: a refusal set aside");
    }
    if (done !== true) return;
    metrics.commits.inc({ result: "committed" });
    payload.resolveOffset(batch.lastOffset());
    metrics.lag.set(
      { topic, partition: String(partition) },
      Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next))),
    );
    metrics.processing.observe((now() - started) / 1000);
  }

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics: settings.topics, fromBeginning: settings.fromBeginning });
      runConfig = {
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: settings.concurrency,
        eachBatch: async (payload) => {
          metrics.inFlight.inc();
          try {
            await queue.add(() => processBatch(payload));
          } finally {
            metrics.inFlight.dec();
          }
        },
      };
      await consumer.run(runConfig);
    },
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      // kafkajs waits for running batches, which finish, produce and commit before it leaves.
      await consumer.disconnect();
      await queue.onIdle();
    },
    notReady() {
      if (crashed !== undefined) return `consumer crashed, starting again: ${crashed}`;
      if (!connected) return "not connected to Kafka";
      for (const [at, { since, reason }] of stalled)
        if (now() - since >= settings.stallAfter)
          return `partition ${at} has made no progress for ${Math.round((now() - since) / 1000)}s: ${reason}`;
      if (!joined) return "waiting for partition assignment";
      if (owned.size === 0) return "no partitions assigned";
      return undefined;
    },
    assignment: () => owned,
    lag: (topic, partition) => lags.get(tp(topic, partition)),
  };
}

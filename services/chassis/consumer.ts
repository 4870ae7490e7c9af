// The at-least-once batch consumer every consuming service runs on.
//
// For each fetched batch of one partition:
//   decode → handler → produce outputs and dead letters (acks=all) → commit → next batch.
// * Offsets are committed only after the batch's outputs are acknowledged (or, for a sink, after
//   the handler has written them), and only while the partition is still ours.
// * A record that cannot be decoded, or that the handler marks bad, goes to the dead-letter topic
//   with the reason; the partition keeps moving. A handler that throws a non-retryable error
//   dead-letters its whole batch rather than stalling the partition.
// * A RetryableError (store down, throttled) is retried with backoff while heartbeating; that
//   partition's consumption pauses meanwhile, so memory stays bounded and the backlog waits in Kafka.
// * Per-partition order holds (kafkajs hands one partition one batch at a time); batches of
//   different partitions run concurrently, bounded by a p-queue.
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, PartitionAssigner } from "kafkajs";
import PQueue from "p-queue";
import {
  deadLetterOf,
  deadLetterRecord,
  normaliseHeaders,
  type Failure,
  type RawRecord,
} from "./dead-letter.js";
import { RetryableError, errorCodeOf } from "./errors.js";
import { permanentProduceError } from "./kafka-errors.js";
import type { Logger } from "./logger.js";
import type { ServiceMetrics } from "./metrics.js";
import type { OutboundRecord, OutputProducer } from "./producer.js";
import type { ConsumerSettings } from "./settings.js";

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
  /**
   * The handler itself committed its outputs, the dead letters and the batch's offset in one Kafka
   * transaction (a stateful stage): the consumer only moves on.
   */
  committed?: boolean;
}

export interface BatchContext<T = unknown> {
  topic: string;
  partition: number;
  /** One past the batch's last offset: what a commit of this batch stores. */
  nextOffset: string;
  /** Records of the batch that could not be decoded (a transactional handler dead-letters them). */
  undecodable: Rejection<T>[];
  /** Call during long work so the group does not think this member dead. */
  heartbeat: () => Promise<void>;
}

export type BatchHandler<T> = (
  records: InboundRecord<T>[],
  context: BatchContext<T>,
) => Promise<HandlerResult<T>>;

export interface ConsumerHooks {
  /** After the batch's outputs are acknowledged, just before its offset is committed. */
  beforeCommit?: (topic: string, partition: number, nextOffset: string) => void | Promise<void>;
}

export interface BatchConsumerOptions<T> {
  kafka: Kafka;
  producer: OutputProducer;
  settings: ConsumerSettings;
  deadLetterTopic: string;
  /** Turns a record value into the handler's input; throws (with a `code`) when it cannot. */
  decode: (topic: string, value: Buffer | null) => T;
  handler: BatchHandler<T>;
  metrics: ServiceMetrics;
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  hooks?: ConsumerHooks;
  /** How the group shares partitions; kafkajs's round robin when not given. */
  partitionAssigners?: PartitionAssigner[];
  /** The handler commits in a transaction: it is called even when no record decoded. */
  transactional?: boolean;
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

export function createBatchConsumer<T>(options: BatchConsumerOptions<T>): BatchConsumer {
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
  consumer.on(consumer.events.CONNECT, () => (connected = true));
  consumer.on(consumer.events.DISCONNECT, () => (connected = false));
  // kafkajs restarts a consumer that crashed on a retriable error (a broker restarted, say) by
  // disconnecting and starting it again — without emitting CONNECT: joining the group is what says
  // it is connected again, or /readyz would stay red for good on a consumer at work. One that
  // crashed for good stays not ready, saying why.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    connected = false;
    if (!payload.restart) crashed = payload.error.message;
    log.error({ err: payload.error, restart: payload.restart }, "consumer crashed");
  });
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
    log.info({ assignment: [...owned] }, "partitions assigned");
  });

  /** Runs `work` until it succeeds; RetryableErrors back off, anything else is returned. */
  async function untilDone<R>(
    stage: string,
    payload: EachBatchPayload,
    work: () => Promise<R>,
  ): Promise<{ ok: true; value: R } | { ok: false; error: unknown } | { ok: "abandoned" }> {
    let delay = settings.retry.initial;
    const at = tp(payload.batch.topic, payload.batch.partition);
    for (;;) {
      try {
        const value = await work();
        stalled.delete(at);
        return { ok: true, value };
      } catch (error) {
        // A produce error that is permanent was handled by the send itself (records set aside):
        // what reaches here is the transport's, or the deployment's, and is retried.
        const retryable = error instanceof RetryableError || stage === "produce";
        if (!retryable) {
          stalled.delete(at);
          return { ok: false, error };
        }
        if (!payload.isRunning() || payload.isStale()) {
          stalled.delete(at);
          return { ok: "abandoned" };
        }
        const reason = `${stage}: ${(error as Error).message}`;
        stalled.set(at, { since: stalled.get(at)?.since ?? now(), reason });
        metrics.retries.inc({ stage });
        const wait = Math.min(
          Math.max(delay, (error as RetryableError).retryAfterMs ?? 0),
          settings.retry.max,
        );
        log.warn(
          { stage, err: error, retryInMs: wait },
          "stage failed; retrying, partition paused meanwhile",
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

  /**
   * Sends a batch's outputs and letters. When Kafka refuses one for good (over its size limit, its
   * topic missing or not ours), each is sent alone and a refused one is replaced by a dead letter
   * that points at the batch's input — so the partition moves on and nothing is lost silently.
   */
  async function sendSettingAside(
    records: OutboundRecord[],
    { topic, partition, messages: inputs }: EachBatchPayload["batch"],
  ) {
    try {
      await producer.send(records);
      return;
    } catch (error) {
      if (!permanentProduceError(error)) throw error;
    }
    const first = inputs[0]!;
    for (const record of records) {
      try {
        await producer.send([record]);
        continue;
      } catch (error) {
        const type = permanentProduceError(error);
        if (!type) throw error;
        const bytes = (record.value?.length ?? 0) + (record.key?.length ?? 0);
        const letter = deadLetterOf(
          {
            topic,
            partition,
            offset: first.offset,
            key: null,
            value: null,
            headers: {},
          },
          {
            stage: "produce",
            code: "VGL_PRODUCE_REFUSED",
            message:
              `Kafka refused for good (${type}) a ${bytes}-byte record for ${record.topic}, ` +
              `an output of offsets ${first.offset}–${inputs[inputs.length - 1]!.offset}`,
          },
          now(),
        );
        log.error({ topic: record.topic, type, bytes }, "output refused; set aside");
        metrics.deadLetters.inc({ code: "VGL_PRODUCE_REFUSED" });
        metrics.dropped.inc({ reason: "dead_letter:VGL_PRODUCE_REFUSED" });
        await producer.send([deadLetterRecord(options.deadLetterTopic, letter)]);
      }
    }
  }

  async function processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.isEmpty()) return;
    const started = now();
    const { topic, partition } = batch;
    metrics.recordsIn.inc({ topic }, batch.messages.length);
    metrics.batchSize.observe(batch.messages.length);

    const records: InboundRecord<T>[] = [];
    const rejected: Rejection<T>[] = [];
    for (const message of batch.messages) {
      const item = toInbound(topic, partition, message);
      if ("record" in item) rejected.push(item);
      else records.push(item);
    }

    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    const context: BatchContext<T> = {
      topic,
      partition,
      nextOffset: next,
      undecodable: rejected,
      heartbeat: () => payload.heartbeat(),
    };
    const handled =
      records.length === 0 && !options.transactional
        ? ({ ok: true, value: {} as HandlerResult<T> } as const)
        : await untilDone("handler", payload, () => options.handler(records, context));
    if (handled.ok === "abandoned") return;
    if (handled.ok === true && handled.value.committed) {
      metrics.commits.inc({ result: "committed" });
      payload.resolveOffset(batch.lastOffset());
      metrics.lag.set(
        { topic, partition: String(partition) },
        Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next))),
      );
      metrics.processing.observe((now() - started) / 1000);
      return;
    }
    let outputs: OutboundRecord[] = [];
    if (handled.ok === true) {
      outputs = handled.value.outputs ?? [];
      rejected.push(...(handled.value.rejected ?? []));
    } else {
      const message = `handler failed for the batch: ${(handled.error as Error).message}`;
      log.error({ err: handled.error, topic, partition, records: records.length }, message);
      const code = errorCodeOf(handled.error, "VGL_HANDLER_FAILED");
      rejected.push(...records.map((record) => ({ record, stage: "handler", code, message })));
    }

    const letters = rejected.map((r) =>
      deadLetterRecord(options.deadLetterTopic, deadLetterOf(r.record, r, now())),
    );
    const sent = await untilDone("produce", payload, () =>
      sendSettingAside([...outputs, ...letters], batch),
    );
    if (sent.ok !== true) return;
    for (const r of rejected) {
      metrics.deadLetters.inc({ code: r.code });
      metrics.dropped.inc({ reason: `dead_letter:${r.code}` });
    }

    await hooks?.beforeCommit?.(topic, partition, next);
    if (payload.isStale() || !owned.has(tp(topic, partition))) {
      // Whoever owns the partition now will process these records again: at-least-once.
      metrics.commits.inc({ result: "skipped_revoked" });
      log.warn(
        { topic, partition, offset: next },
        "partition no longer ours; offset not committed",
      );
      return;
    }
    try {
      // Through the batch payload, not consumer.commitOffsets: kafkajs silently drops the latter
      // once stop() has begun, which would lose the commits of a graceful drain. The broker still
      // fences it by generation and member id.
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: next }] }],
      });
      metrics.commits.inc({ result: "committed" });
      payload.resolveOffset(batch.lastOffset());
    } catch (error) {
      // The broker fences commits from a member the group has moved on from: that is the
      // revocation we could not see coming (e.g. our session expired while we worked).
      const fenced = NOT_OWNER_ERRORS.has((error as { type?: string }).type ?? "");
      metrics.commits.inc({ result: fenced ? "rejected_not_owner" : "failed" });
      log.warn(
        { err: error, topic, partition, offset: next },
        "offset commit refused; records will be redelivered",
      );
      return;
    }
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
      await consumer.run({
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
      });
    },
    async stop() {
      // kafkajs waits for running batches, which finish, produce and commit before it leaves.
      await consumer.disconnect();
      await queue.onIdle();
    },
    notReady() {
      if (crashed !== undefined) return `consumer stopped for good: ${crashed}`;
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

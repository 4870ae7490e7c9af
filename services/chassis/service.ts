// The service chassis: one call gives a service its logger, self-metrics, health endpoint,
// Kafka producer, optional consumer on the one processing loop — at least once, or exactly once
// (a stage without state: a transaction per batch) as its `processing` setting says — and a
// graceful shutdown on SIGTERM/SIGINT that drains in-flight batches and commits within a deadline.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Kafka } from "kafkajs";
import { createProcessingLoop, type BatchHandler, type ConsumerHooks } from "./processing-loop.js";
import { createStatefulStage, type StatefulStage } from "./stateful-stage.js";
import { startHealthServer, type HealthOptions, type HealthServer } from "./http.js";
import { createKafka } from "./kafka.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics, type ServiceMetrics } from "./metrics.js";
import { bufferedProducer } from "./edge-buffer.js";
import { createProducer, type OutputProducer } from "./producer.js";
import type { BaseSettings, ConsumerSettings, EdgeBufferSettings } from "./settings.js";

export interface ConsumeOptions<T> {
  settings: ConsumerSettings;
  handler: BatchHandler<T>;
  /** Turns a record value into the handler's input; throws (with a `code`) when it cannot. */
  decode: (topic: string, value: Buffer | null) => T;
  hooks?: ConsumerHooks;
}

export interface ServiceOptions<T> {
  name: string;
  settings: BaseSettings;
  consume?: ConsumeOptions<T>;
  /** The service's metrics, when it registers its own before starting. */
  metrics?: ServiceMetrics;
  /** The service's own HTTP endpoints, served beside /healthz, /readyz and /metrics. */
  routes?: HealthOptions["routes"];
  /** Extra readiness condition of the service (e.g. its store answers). */
  notReady?: () => string | undefined;
  now?: () => number;
  /** The Kafka client, when not built from the settings (a test that cuts the network). */
  kafka?: Kafka;
  /** Keep what Kafka cannot take on disk until it can (agents and ingest). */
  edgeBuffer?: EdgeBufferSettings;
}

export interface Service {
  name: string;
  /** The service's Kafka client (stateful stages and transactional writers are built on it). */
  kafka: Kafka;
  logger: Logger;
  metrics: ServiceMetrics;
  producer: OutputProducer;
  consumer?: StatefulStage;
  http: HealthServer;
  stop(): Promise<void>;
}

export async function startService<T = unknown>(options: ServiceOptions<T>): Promise<Service> {
  const { name, settings } = options;
  const logger = createLogger(name, settings.log.level);
  const metrics = options.metrics ?? createMetrics(name);
  const kafka = options.kafka ?? createKafka(settings.kafka, name, logger);
  const direct = createProducer(kafka, metrics, settings.kafka.compression);
  const producer = options.edgeBuffer
    ? bufferedProducer(direct, {
        ...options.edgeBuffer,
        metrics,
        logger,
        ...(options.now && { now: options.now }),
      })
    : direct;
  await producer.connect();

  const consume = options.consume;
  const consumer: StatefulStage | undefined =
    consume?.settings.processing === "exactly_once"
      ? createStatefulStage<T, undefined>({
          service: { kafka, metrics, logger, producer },
          name,
          groupId: consume.settings.groupId,
          topics: consume.settings.topics,
          deadLetterTopic: settings.topics.deadLetter,
          processing: "exactly_once",
          concurrency: consume.settings.concurrency,
          sessionTimeout: consume.settings.sessionTimeout,
          consumer: consume.settings,
          decode: consume.decode,
          open: () => undefined,
          process: (_, records, context) => consume.handler(records, context),
          ...(consume.hooks && { hooks: consume.hooks }),
          ...(options.now && { now: options.now }),
        })
      : consume &&
        createProcessingLoop<T>({
          kafka,
          producer,
          settings: consume.settings,
          deadLetterTopic: settings.topics.deadLetter,
          decode: consume.decode,
          handler: consume.handler,
          metrics,
          logger,
          ...(options.now && { now: options.now }),
          ...(consume.hooks && { hooks: consume.hooks }),
        });

  const http = await startHealthServer({
    host: settings.http.host,
    port: settings.http.port,
    registry: metrics.registry,
    notReady: () => consumer?.notReady() ?? options.notReady?.(),
    ...(options.routes && { routes: options.routes }),
  });
  await consumer?.start();
  logger.info({ port: http.port, kafka: settings.kafka.brokers }, "service started");

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info("stopping: draining in-flight batches");
      await consumer?.stop();
      await producer.disconnect();
      await http.close();
      logger.info("stopped");
    })());

  return { name, kafka, logger, metrics, producer, ...(consumer && { consumer }), http, stop };
}

/**
 * Runs a service as a process: SIGTERM or SIGINT stops it gracefully; if draining takes longer
 * than the deadline, it exits non-zero and the uncommitted tail is redelivered on restart.
 */
export async function runMain(start: () => Promise<Service>, deadlineMs: number): Promise<void> {
  let service: Service;
  try {
    service = await start();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    service.logger.info({ signal }, "shutdown requested");
    const timer = setTimeout(() => {
      service.logger.error({ deadlineMs }, "shutdown deadline passed; exiting without finishing");
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        service.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

/** Whether the module with this `import.meta.url` is the process's entry point. */
export function isMain(moduleUrl: string): boolean {
  return (
    process.argv[1] !== undefined && moduleUrl === pathToFileURL(resolve(process.argv[1])).href
  );
}

// The service that hosts pipelines: one consumer group per pipeline (vigil-pipeline-<name>), all
// on one chassis (one /metrics, one /readyz, one graceful shutdown), each with a ticker that lets
// its operators see time pass. The work of one pipeline is in runner.ts.
import { decode } from "../schemas/codec.js";
import type { MetricBatch } from "../schemas/types.js";
import { loadConfig } from "../services/chassis/config.js";
import { createBatchConsumer, type BatchConsumer } from "../services/chassis/consumer.js";
import { every, type Periodic } from "../services/chassis/periodic.js";
import { isMain, runMain, startService, type Service } from "../services/chassis/service.js";
import { consumerSettings } from "../services/chassis/settings.js";
import { pipelineSettings, type PipelineSettings } from "./config.js";
import { pipelineRunner } from "./runner.js";

export async function startPipelines(
  settings: PipelineSettings,
  now: () => number = Date.now,
): Promise<Service> {
  const consumers: BatchConsumer[] = [];
  const service = await startService({
    name: settings.service ?? "pipelines",
    settings,
    now,
    notReady: () => consumers.map((c) => c.notReady()).find((why) => why !== undefined),
  });
  const tickers: Periodic[] = [];
  for (const pipeline of settings.pipelines) {
    // The runner asks the consumer, created just below, which partitions it owns.
    const owner: { consumer?: BatchConsumer } = {};
    const runner = pipelineRunner(
      pipeline,
      service,
      () => owner.consumer?.assignment() ?? new Set(),
      now,
    );
    const consumer = createBatchConsumer<MetricBatch>({
      kafka: service.kafka,
      producer: service.producer,
      settings: consumerSettings.parse({
        groupId: `vigil-pipeline-${pipeline.name}`,
        topics: pipeline.inputs,
        concurrency: pipeline.concurrency,
        sessionTimeout: pipeline.sessionTimeout,
      }),
      deadLetterTopic: settings.topics.deadLetter,
      decode: (_topic, value) => decode("metric-batch", value),
      handler: runner.handler,
      hooks: { beforeCommit: runner.beforeCommit },
      metrics: service.metrics,
      logger: service.logger.child({ pipeline: pipeline.name }),
      now,
    });
    owner.consumer = consumer;
    await consumer.start();
    consumers.push(consumer);
    tickers.push(every(pipeline.tick, runner.tick, now));
  }
  const stop = service.stop;
  return {
    ...service,
    stop: async () => {
      await Promise.all(tickers.map((t) => t.stop()));
      await Promise.all(consumers.map((c) => c.stop()));
      await stop();
    },
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(pipelineSettings);
  await runMain(() => startPipelines(settings), settings.shutdown.deadline);
}

// The service that hosts pipelines: one consumer group per pipeline (vigil-pipeline-<name>), all
// on one chassis (one /metrics, one /readyz, one graceful shutdown). For each record: the chain
// runs over its samples; what comes out is produced to the output topic under the same key;
// samples a processor rejects are dead-lettered together, as a metric batch, with the reasons.
// Operator state is kept per input partition.
import { decode, encode } from "../schemas/codec.js";
import type { MetricBatch } from "../schemas/types.js";
import { loadConfig } from "../services/chassis/config.js";
import {
  createBatchConsumer,
  type BatchConsumer,
  type BatchHandler,
  type Rejection,
} from "../services/chassis/consumer.js";
import type { OutboundRecord } from "../services/chassis/producer.js";
import { isMain, runMain, startService, type Service } from "../services/chassis/service.js";
import { consumerSettings } from "../services/chassis/settings.js";
import { buildChain, runChain, type ChainTelemetry, type Step } from "./chain.js";
import { pipelineSettings, type Pipeline, type PipelineSettings } from "./config.js";

function pipelineHandler(
  pipeline: Pipeline,
  service: Service,
  now: () => number,
): BatchHandler<MetricBatch> {
  const chains = new Map<string, Step[]>();
  const telemetry: ChainTelemetry = {
    step: (processor, samplesIn, samplesOut, rejected) => {
      const labels = { pipeline: pipeline.name, processor };
      service.metrics.processorSamples.inc({ ...labels, direction: "in" }, samplesIn);
      service.metrics.processorSamples.inc({ ...labels, direction: "out" }, samplesOut);
      service.metrics.processorSamples.inc({ ...labels, direction: "rejected" }, rejected);
    },
    dropped: (processor, reason, n) =>
      service.metrics.dropped.inc({ reason: `${processor}:${reason}` }, n),
  };
  return async (records, { topic, partition }) => {
    const at = `${topic}:${partition}`;
    let chain = chains.get(at);
    if (!chain) chains.set(at, (chain = buildChain(pipeline.processors)));
    const outputs: OutboundRecord[] = [];
    const rejected: Rejection<MetricBatch>[] = [];
    for (const record of records) {
      const batch = record.decoded;
      const result = runChain(chain, batch.samples, now, telemetry);
      if (result.samples.length > 0) {
        outputs.push({
          topic: pipeline.output,
          key: record.key,
          value: encode("metric-batch", { source: batch.source, samples: result.samples }),
        });
      }
      if (result.rejected.length > 0) {
        const value = encode("metric-batch", {
          source: batch.source,
          samples: result.rejected.map((r) => r.sample),
        });
        const reasons = result.rejected.map((r) => `${r.processor}: ${r.sample.name}: ${r.reason}`);
        rejected.push({
          record: { ...record, value },
          stage: `pipeline:${pipeline.name}`,
          code: result.rejected[0]!.code,
          message:
            reasons.slice(0, 10).join("; ") +
            (reasons.length > 10 ? ` (+${reasons.length - 10} more)` : ""),
        });
      }
    }
    return { outputs, rejected };
  };
}

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
  for (const pipeline of settings.pipelines) {
    const consumer = createBatchConsumer<MetricBatch>({
      kafka: service.kafka,
      producer: service.producer,
      settings: consumerSettings.parse({
        groupId: `vigil-pipeline-${pipeline.name}`,
        topics: pipeline.inputs,
        concurrency: pipeline.concurrency,
      }),
      deadLetterTopic: settings.topics.deadLetter,
      decode: (_topic, value) => decode("metric-batch", value),
      handler: pipelineHandler(pipeline, service, now),
      metrics: service.metrics,
      logger: service.logger.child({ pipeline: pipeline.name }),
      now,
    });
    await consumer.start();
    consumers.push(consumer);
  }
  const stop = service.stop;
  return {
    ...service,
    stop: async () => (await Promise.all(consumers.map((c) => c.stop())), await stop()),
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(pipelineSettings);
  await runMain(() => startPipelines(settings), settings.shutdown.deadline);
}

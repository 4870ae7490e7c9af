// The service that hosts pipelines: one consumer group per pipeline (vigil-pipeline-<name>), all
// on one chassis (one /metrics, one /readyz, one graceful shutdown). For each record: the chain
// runs over its samples; what comes out is produced to the output topic under the same key;
// samples a processor rejects are dead-lettered together, as a metric batch, with the reasons.
// Operator state is kept per input partition.
import { decode, encode } from "../schemas/codec.js";
import type { MetricBatch, MetricSample } from "../schemas/types.js";
import { loadConfig } from "../services/chassis/config.js";
import {
  createBatchConsumer,
  type BatchConsumer,
  type BatchHandler,
  type Rejection,
} from "../services/chassis/consumer.js";
import { every, type Periodic } from "../services/chassis/periodic.js";
import type { OutboundRecord } from "../services/chassis/producer.js";
import { isMain, runMain, startService, type Service } from "../services/chassis/service.js";
import { consumerSettings } from "../services/chassis/settings.js";
import { seriesKey } from "./api.js";
import { buildChain, runChain, type ChainTelemetry, type Step } from "./chain.js";
import { pipelineSettings, type Pipeline, type PipelineSettings } from "./config.js";

/** Output records: under the input record's key, or one per `keyBy` label values. */
function outputRecords(
  pipeline: Pipeline,
  key: Buffer | string | null,
  source: string,
  samples: MetricSample[],
): OutboundRecord[] {
  if (samples.length === 0) return [];
  if (!pipeline.keyBy && key !== null)
    return [{ topic: pipeline.output, key, value: encode("metric-batch", { source, samples }) }];
  // Without an input record (what a tick closed), each group of labels and timestamp gets its own
  // deterministic key, so a replay writes the same records.
  const keyOf = (sample: MetricSample) =>
    pipeline.keyBy
      ? pipeline.keyBy.map((label) => sample.labels[label] ?? "").join("|")
      : `${seriesKey({ name: "", labels: sample.labels })}@${sample.timestamp}`;
  const groups = new Map<string, MetricSample[]>();
  for (const sample of samples)
    groups.set(keyOf(sample), [...(groups.get(keyOf(sample)) ?? []), sample]);
  return [...groups].map(([group, list]) => ({
    topic: pipeline.output,
    key: group,
    value: encode("metric-batch", { source, samples: list }),
  }));
}

function pipelineRunner(pipeline: Pipeline, service: Service, now: () => number) {
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
  const chainFor = (at: string) => {
    let chain = chains.get(at);
    if (!chain) chains.set(at, (chain = buildChain(pipeline.processors)));
    return chain;
  };
  const source = `pipeline/${pipeline.name}`;

  const handler: BatchHandler<MetricBatch> = async (records, { topic, partition }) => {
    const chain = chainFor(`${topic}:${partition}`);
    const outputs: OutboundRecord[] = [];
    const rejected: Rejection<MetricBatch>[] = [];
    for (const record of records) {
      const batch = record.decoded;
      const result = runChain(chain, batch.samples, now, telemetry);
      outputs.push(...outputRecords(pipeline, record.key, batch.source, result.samples));
      if (result.late.length > 0)
        outputs.push({
          topic: pipeline.late,
          key: record.key,
          value: encode("metric-batch", { source: batch.source, samples: result.late }),
        });
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

  /** Gives every partition's operators the time: windows of quiet sources close. */
  const tick = async () => {
    const outputs = [...chains.values()].flatMap((chain) =>
      outputRecords(pipeline, null, source, runChain(chain, [], now, telemetry).samples),
    );
    if (outputs.length === 0) return;
    try {
      await service.producer.send(outputs);
    } catch (error) {
      service.logger.error(
        { err: error, pipeline: pipeline.name },
        "producing what the idle timeout closed failed",
      );
    }
  };
  return { handler, tick };
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
  const tickers: Periodic[] = [];
  for (const pipeline of settings.pipelines) {
    const runner = pipelineRunner(pipeline, service, now);
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
      handler: runner.handler,
      metrics: service.metrics,
      logger: service.logger.child({ pipeline: pipeline.name }),
      now,
    });
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

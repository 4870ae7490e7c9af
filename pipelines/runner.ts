// One pipeline at work: per input partition, its chain of processor instances (restored from the
// changelog when the partition is assigned), the records it turns into outputs, late samples and
// dead letters, and the state snapshot written before each commit.
import { groupBy } from "../services/chassis/group.js";
import { encode } from "../schemas/codec.js";
import type { MetricBatch, MetricSample } from "../schemas/types.js";
import type { BatchHandler, Rejection } from "../services/chassis/consumer.js";
import type { OutboundRecord } from "../services/chassis/producer.js";
import type { Service } from "../services/chassis/service.js";
import { seriesKey } from "./api.js";
import { buildChain, runChain, type ChainTelemetry, type Step } from "./chain.js";
import type { Pipeline } from "./config.js";
import { partitionStates, restoreSteps, snapshotRecord, snapshotSteps } from "./state.js";

/** Output records: under the input record's key, one per `keyBy` label values, or one per series and time. */
export function outputRecords(
  pipeline: Pipeline,
  key: Buffer | string | null,
  source: string,
  samples: MetricSample[],
): OutboundRecord[] {
  if (samples.length === 0) return [];
  if (!pipeline.keyBy && pipeline.outputKey === "input" && key !== null)
    return [{ topic: pipeline.output, key, value: encode("metric-batch", { source, samples }) }];
  // By series (and, without an input record — what a tick closed — always): each group of labels
  // and timestamp gets its own deterministic key, so a replay writes the same records.
  const keyOf = (sample: MetricSample) =>
    pipeline.keyBy
      ? pipeline.keyBy.map((label) => sample.labels[label] ?? "").join("|")
      : `${seriesKey({ name: "", labels: sample.labels })}@${sample.timestamp}`;
  return [...groupBy(samples, keyOf)].map(([group, list]) => ({
    topic: pipeline.output,
    key: group,
    value: encode("metric-batch", { source, samples: list }),
  }));
}

interface PartitionChain {
  steps: Step[];
  /** The last input offset whose effects the steps hold. */
  lastOffset: number;
}

export function pipelineRunner(
  pipeline: Pipeline,
  service: Service,
  assignment: () => ReadonlySet<string>,
  now: () => number,
) {
  const chains = partitionStates<PartitionChain>({
    kafka: service.kafka,
    changelog: pipeline.changelog,
    owner: pipeline.name,
    stateful: pipeline.stateful,
    assignment,
    create: (saved) => {
      const steps = buildChain(pipeline.processors);
      if (saved) restoreSteps(steps, saved);
      return { steps, lastOffset: saved?.lastOffset ?? -1 };
    },
    onRestore: (topic, partition, saved) =>
      service.logger.info(
        { pipeline: pipeline.name, topic, partition, lastOffset: saved.lastOffset },
        "operator state restored",
      ),
  });
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

  const handler: BatchHandler<MetricBatch> = async (records, { topic, partition, heartbeat }) => {
    const chain = await chains.get(topic, partition, heartbeat);
    const outputs: OutboundRecord[] = [];
    const rejected: Rejection<MetricBatch>[] = [];
    for (const record of records) {
      const offset = Number(record.offset);
      if (offset <= chain.lastOffset) {
        service.metrics.dropped.inc({ reason: `pipeline:${pipeline.name}:already_in_state` });
        continue; // its effects are in the restored state already
      }
      chain.lastOffset = offset;
      const batch = record.decoded;
      const result = runChain(chain.steps, batch.samples, now, telemetry);
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

  /** After the batch's outputs are acknowledged, before its offset is committed. */
  async function beforeCommit(topic: string, partition: number): Promise<void> {
    const chain = chains.peek(topic, partition);
    if (!pipeline.stateful || !chain) return;
    await service.producer.send([
      snapshotRecord(
        pipeline.changelog,
        pipeline.name,
        topic,
        partition,
        chain.lastOffset,
        snapshotSteps(chain.steps),
        now(),
      ),
    ]);
  }

  /** Gives every partition's operators the time: windows of quiet sources close. */
  async function tick(): Promise<void> {
    const source = `pipeline/${pipeline.name}`;
    const outputs = chains
      .all()
      .flatMap(({ state: chain }) =>
        outputRecords(pipeline, null, source, runChain(chain.steps, [], now, telemetry).samples),
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
  }

  return { handler, beforeCommit, tick };
}

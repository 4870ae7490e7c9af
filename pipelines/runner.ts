// One pipeline at work, as one or two stateful stages of the chassis.
//
//   no grouping operator:   inputs ─► [whole chain] ─► output
//   with one (window-aggregate `groupBy`), as Kafka Streams does on groupBy:
//     inputs ─► [steps before it] ─► repartition topic, keyed by group ─► [the rest] ─► output
//   with one whose groups fix the label the input is keyed by (`inputKeyedBy: host`, as Vigil's
//   ingest keys): each group is on one input partition already, so one stage, no hop:
//     inputs ─► [steps before it] ─► key check ─► [the rest] ─► output
//
// Each stage commits its outputs, late samples, dead letters, the keys its operators changed (to
// its own changelog, `<group id>-changelog`) and its input offsets in one Kafka transaction. So a
// group's samples meet on one partition — partial aggregates never compete — and a restart or
// rebalance changes no result.
import { decode, encode } from "../schemas/codec.js";
import type { MetricBatch, MetricSample } from "../schemas/types.js";
import type { Rejection } from "../services/chassis/consumer.js";
import { reasonsText } from "../services/chassis/dead-letter.js";
import { groupBy } from "../services/chassis/group.js";
import type { OutboundRecord } from "../services/chassis/producer.js";
import { partitionOf } from "../services/chassis/partition.js";
import type { Service } from "../services/chassis/service.js";
import { createStatefulStage, type StatefulStage } from "../services/chassis/stateful-stage.js";
import { seriesKey } from "./api.js";
import {
  buildChain,
  runChain,
  type ChainResult,
  type ChainTelemetry,
  type Step,
  type StepConfig,
} from "./chain.js";
import type { Pipeline } from "./config.js";
import { processorNamed } from "./registry.js";

/** Output records, by the pipeline's keying; each carries a batch of the samples of one key. */
export function outputRecords(
  pipeline: Pipeline,
  key: Buffer | string | null,
  source: string,
  samples: MetricSample[],
): OutboundRecord[] {
  if (samples.length === 0) return [];
  if (!pipeline.keyBy && pipeline.outputKey === "input" && key !== null)
    return [{ topic: pipeline.output, key, value: encode("metric-batch", { source, samples }) }];
  // By series (and, without an input record — what a tick closed — always): every window of a
  // series has the same key, so one series stays on one partition, in order.
  // Samples that share a labels object (a window's aggregates) share its key: computed once.
  const keys = new Map<Record<string, string>, string>();
  const keyOf = (sample: MetricSample) => {
    let key = keys.get(sample.labels);
    if (key === undefined) {
      key = pipeline.keyBy
        ? pipeline.keyBy.map((label) => sample.labels[label] ?? "").join("|")
        : seriesKey({ name: "", labels: sample.labels });
      keys.set(sample.labels, key);
    }
    return key;
  };
  return keyed(pipeline.output, source, samples, keyOf);
}

function keyed(
  topic: string,
  source: string,
  samples: MetricSample[],
  keyOf: (sample: MetricSample) => string,
): OutboundRecord[] {
  return [...groupBy(samples, keyOf)].map(([key, list]) => ({
    topic,
    key,
    value: encode("metric-batch", { source, samples: list }),
  }));
}

/** Where the chain splits: the first step whose state is grouped by a key of its own. */
export function groupingStep(pipeline: Pipeline): number {
  return pipeline.processors.findIndex((step) => processorNamed(step.name)?.partitionKey);
}

interface StagePlan {
  name: string;
  groupId: string;
  inputs: string[];
  steps: StepConfig[];
  first: number;
  /** Turns what the steps let through into records. */
  emit: (key: Buffer | string | null, source: string, samples: MetricSample[]) => OutboundRecord[];
  /**
   * The records do not follow the input record's key: what a whole batch lets through is emitted
   * at once (one record per key or target partition, not one per input record and key).
   */
  perBatch: boolean;
  /**
   * Input keyed by a label every group fixes (`inputKeyedBy`): no hop, and the samples that reach
   * the grouping step (at `at` in the steps) are checked against their record's key.
   */
  keyedBy?: { label: string; at: number; takes: (sample: MetricSample) => boolean };
}

/**
 * The chain over one record's samples, checked at the grouping step: a sample it takes whose
 * `label` is not the record's key may belong to a group kept on another partition — rejected,
 * never counted into a window here.
 */
export function keyCheckedChain(
  run: (steps: Step[], samples: MetricSample[]) => ChainResult,
  steps: Step[],
  check: NonNullable<StagePlan["keyedBy"]>,
  key: Buffer | string | null,
  samples: MetricSample[],
): ChainResult {
  const before = run(steps.slice(0, check.at), samples);
  const expected = key === null ? undefined : key.toString();
  const kept: MetricSample[] = [];
  const misrouted: ChainResult["rejected"] = [];
  for (const sample of before.samples) {
    const value = sample.labels[check.label];
    if (value === expected || !check.takes(sample)) kept.push(sample);
    else
      misrouted.push({
        sample,
        processor: "pipeline",
        code: "VGL_KEY_MISMATCH",
        reason: `label ${check.label}=${JSON.stringify(value ?? null)} is not its record's key ${JSON.stringify(expected ?? null)} (the pipeline's inputKeyedBy)`,
      });
  }
  const after = run(steps.slice(check.at), kept);
  return {
    samples: after.samples,
    rejected: [...before.rejected, ...misrouted, ...after.rejected],
    late: [...before.late, ...after.late],
  };
}

/**
 * The re-keyed records of a batch: one per target partition (the partition a record keyed by the
 * group goes to), never one per group — a batch of 1 000 hosts' samples is a handful of records.
 */
export function repartitioned(
  topic: string,
  partitions: number,
  source: string,
  samples: MetricSample[],
  groupOf: (sample: MetricSample) => string | undefined,
): OutboundRecord[] {
  const byPartition = new Map<number, MetricSample[]>();
  for (const sample of samples) {
    const group = groupOf(sample);
    if (group === undefined) continue; // not taken by the grouping step: on the input topic still
    const partition = partitionOf(group, partitions);
    let list = byPartition.get(partition);
    if (!list) byPartition.set(partition, (list = []));
    list.push(sample);
  }
  return [...byPartition].map(([partition, list]) => ({
    topic,
    partition,
    key: null,
    value: encode("metric-batch", { source, samples: list }),
  }));
}

export function stagePlans(pipeline: Pipeline, repartitionPartitions = 1): StagePlan[] {
  const groupId = `vigil-pipeline-${pipeline.name}`;
  const toOutput: StagePlan["emit"] = (key, source, samples) =>
    outputRecords(pipeline, key, source, samples);
  const split = groupingStep(pipeline);
  /** The whole chain as one stage, on the pipeline's inputs. */
  const whole = (rest: Pick<StagePlan, "perBatch" | "keyedBy">): StagePlan[] => [
    {
      name: pipeline.name,
      groupId,
      inputs: pipeline.inputs,
      steps: pipeline.processors,
      first: 0,
      emit: toOutput,
      ...rest,
    },
  ];
  if (split < 0) return whole({ perBatch: false });
  const topic = pipeline.repartition;
  const [grouping] = buildChain([pipeline.processors[split]!], "processors", undefined, split);
  const keyOf = grouping!.spec.partitionKey!(grouping!.config);
  const label = pipeline.inputKeyedBy;
  if (label !== undefined && grouping!.spec.groupLabels?.(grouping!.config).includes(label))
    // As after a hop, what a batch closes is keyed by series.
    return whole({
      perBatch: true,
      keyedBy: { label, at: split, takes: (sample) => keyOf(sample) !== undefined },
    });
  return [
    {
      name: `${pipeline.name}-repartition`,
      groupId: `${groupId}-repartition`,
      inputs: pipeline.inputs,
      steps: pipeline.processors.slice(0, split),
      first: 0,
      // Only what the grouping step takes travels on (the rest is on the input topic already).
      emit: (_key, source, samples) =>
        repartitioned(topic, repartitionPartitions, source, samples, keyOf),
      perBatch: true,
    },
    {
      name: pipeline.name,
      groupId,
      inputs: [topic],
      steps: pipeline.processors.slice(split),
      first: split,
      // Re-keyed records have no key of their own: outputs are keyed by series.
      emit: toOutput,
      perBatch: true,
    },
  ];
}

export function pipelineStages(
  pipeline: Pipeline,
  service: Service,
  deadLetterTopic: string,
  now: () => number,
  /** Partitions of the pipeline's repartition topic (when it groups). */
  repartitionPartitions = 1,
): StatefulStage[] {
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
  const source = `pipeline/${pipeline.name}`;

  return stagePlans(pipeline, repartitionPartitions).map((plan) => {
    // Every stage of a stateful pipeline keeps a changelog, its operators' or not: the input
    // offsets it covers are state too. Without them a stage that takes over a partition trusts
    // the group's committed offset, which kafkajs (no require_stable) may read from before the
    // last transaction's offsets became visible — and it would write that batch's output again.
    const stateful = pipeline.stateful;
    return createStatefulStage<MetricBatch, Step[]>({
      service,
      name: plan.name,
      groupId: plan.groupId,
      topics: plan.inputs,
      ...(stateful && { changelog: `${plan.groupId}-changelog` }),
      deadLetterTopic,
      concurrency: pipeline.concurrency,
      sessionTimeout: pipeline.sessionTimeout,
      decode: (_topic, value) => decode("metric-batch", value),
      open: (stores) => buildChain(plan.steps, "processors", stores, plan.first),
      process: (steps, records, { caughtUp }) => {
        const outputs: OutboundRecord[] = [];
        const rejected: Rejection<MetricBatch>[] = [];
        const through: MetricSample[] = [];
        for (const record of records) {
          const batch = record.decoded;
          const run = (part: Step[], samples: MetricSample[]) =>
            runChain(part, samples, now, telemetry, () => caughtUp);
          const result = plan.keyedBy
            ? keyCheckedChain(run, steps, plan.keyedBy, record.key, batch.samples)
            : run(steps, batch.samples);
          if (plan.perBatch) for (const sample of result.samples) through.push(sample);
          else outputs.push(...plan.emit(record.key, batch.source, result.samples));
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
            const reasons = result.rejected.map(
              (r) => `${r.processor}: ${r.sample.name}: ${r.reason}`,
            );
            rejected.push({
              record: { ...record, value },
              stage: `pipeline:${pipeline.name}`,
              code: result.rejected[0]!.code,
              message: reasonsText(reasons, 10),
            });
          }
        }
        // A batch's samples come from many sources: what it emits is the pipeline's.
        if (through.length > 0) outputs.push(...plan.emit(null, source, through));
        return { outputs, rejected };
      },
      // Operators see time pass: windows of quiet sources close (only once caught up).
      ...(plan.steps.some(isOperator) && {
        tick: {
          every: pipeline.tick,
          run: (steps, { caughtUp }) =>
            plan.emit(null, source, runChain(steps, [], now, telemetry, () => caughtUp).samples),
        },
      }),
      now,
    });
  });
}

const isOperator = (step: StepConfig) => processorNamed(step.name)?.state !== undefined;

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
import type { Rejection } from "../services/chassis/processing-loop.js";
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
  tallied,
} from "./chain.js";
import type { Pipeline } from "./config.js";
import { processorNamed } from "./registry.js";

/** Output records, by the pipeline's keying; each carries a batch of the samples of one key. */
export function outputRecords(
  pipeline: Pipeline,
  key: Buffer | string | null,
  source: string,
  samples: MetricSample[],
  /** The input record's value, when the steps let its samples through unchanged. */
  unchanged?: Buffer,
): OutboundRecord[] {
  if (samples.length === 0) return [];
  if (!pipeline.keyBy && pipeline.outputKey === "input" && key !== null)
    return [
      {
        topic: pipeline.output,
        key,
        // The same samples, the same source: the record goes on as it came (no encode, no copy).
        value: unchanged ?? encode("metric-batch", { source, samples }),
      },
    ];
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
  emit: (
    key: Buffer | string | null,
    source: string,
    samples: MetricSample[],
    unchanged?: Buffer,
  ) => OutboundRecord[];
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

/** What a record's own share of a batch came to: rejected at, or late for, some step. */
export interface RecordOutcome {
  rejected: ChainResult["rejected"];
  late: MetricSample[];
}

/**
 * A batch of input keyed by a label every group fixes: each record's samples go through the steps
 * before the grouping step and are checked against the record's key — a sample the grouping step
 * takes whose label is not the key may belong to a group kept on another partition: rejected,
 * never counted into a window — and what passes goes through the grouping step and the rest once,
 * for the whole batch (not once per record: one close of each group's windows, one count per
 * step). What those steps reject or find late is the record's it came from (the last record's,
 * for a sample the steps made).
 */
export function keyCheckedBatch(
  run: (steps: Step[], samples: MetricSample[]) => ChainResult,
  steps: Step[],
  check: NonNullable<StagePlan["keyedBy"]>,
  records: { key: Buffer | string | null; samples: MetricSample[] }[],
): { samples: MetricSample[]; records: RecordOutcome[] } {
  const head = steps.slice(0, check.at);
  const outcomes: RecordOutcome[] = records.map(() => ({ rejected: [], late: [] }));
  const kept: MetricSample[] = [];
  /** ends[i]: how many of `kept` came from records 0..i. */
  const ends: number[] = [];
  records.forEach((record, i) => {
    const outcome = outcomes[i]!;
    const before = head.length > 0 ? run(head, record.samples) : undefined;
    if (before) {
      outcome.rejected.push(...before.rejected);
      outcome.late.push(...before.late);
    }
    const expected = record.key === null ? undefined : record.key.toString();
    for (const sample of before?.samples ?? record.samples) {
      const value = sample.labels[check.label];
      if (value === expected || !check.takes(sample)) kept.push(sample);
      else
        outcome.rejected.push({
          sample,
          processor: "pipeline",
          code: "VGL_KEY_MISMATCH",
          reason: `label ${check.label}=${JSON.stringify(value ?? null)} is not its record's key ${JSON.stringify(expected ?? null)} (the pipeline's inputKeyedBy)`,
        });
    }
    ends.push(kept.length);
  });
  const after = run(steps.slice(check.at), kept);
  if (after.rejected.length > 0 || after.late.length > 0) {
    const position = new Map(kept.map((sample, i) => [sample, i]));
    const recordOf = (sample: MetricSample) => {
      const at = position.get(sample);
      if (at === undefined) return records.length - 1;
      let [low, high] = [0, ends.length - 1];
      while (low < high) {
        const mid = (low + high) >> 1;
        if (ends[mid]! > at) high = mid;
        else low = mid + 1;
      }
      return low;
    };
    for (const r of after.rejected) outcomes[recordOf(r.sample)]!.rejected.push(r);
    for (const sample of after.late) outcomes[recordOf(sample)]!.late.push(sample);
  }
  return { samples: after.samples, records: outcomes };
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
  const toOutput: StagePlan["emit"] = (key, source, samples, unchanged) =>
    outputRecords(pipeline, key, source, samples, unchanged);
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
      processing: pipeline.processing,
      concurrency: pipeline.concurrency,
      sessionTimeout: pipeline.sessionTimeout,
      decode: (_topic, value) => decode("metric-batch", value),
      open: (stores) => buildChain(plan.steps, "processors", stores, plan.first),
      process: (steps, records, { caughtUp, now: at }) => {
        const outputs: OutboundRecord[] = [];
        const rejected: Rejection<MetricBatch>[] = [];
        const through: MetricSample[] = [];
        const tally = tallied(telemetry);
        const run = (part: Step[], samples: MetricSample[]) =>
          runChain(
            part,
            samples,
            () => at,
            tally,
            () => caughtUp,
          );
        /** A record's late samples to the late topic, its rejected ones to the dead letters. */
        const settle = (record: (typeof records)[number], outcome: RecordOutcome) => {
          const { source: from } = record.decoded;
          if (outcome.late.length > 0)
            outputs.push({
              topic: pipeline.late,
              key: record.key,
              value: encode("metric-batch", { source: from, samples: outcome.late }),
            });
          if (outcome.rejected.length === 0) return;
          const value = encode("metric-batch", {
            source: from,
            samples: outcome.rejected.map((r) => r.sample),
          });
          const reasons = outcome.rejected.map(
            (r) => `${r.processor}: ${r.sample.name}: ${r.reason}`,
          );
          rejected.push({
            record: { ...record, value },
            stage: `pipeline:${pipeline.name}`,
            code: outcome.rejected[0]!.code,
            message: reasonsText(reasons, 10),
          });
        };
        if (plan.keyedBy) {
          const checked = keyCheckedBatch(
            run,
            steps,
            plan.keyedBy,
            records.map((r) => ({ key: r.key, samples: r.decoded.samples })),
          );
          records.forEach((record, i) => settle(record, checked.records[i]!));
          for (const sample of checked.samples) through.push(sample);
        } else
          for (const record of records) {
            const result = run(steps, record.decoded.samples);
            if (plan.perBatch) for (const sample of result.samples) through.push(sample);
            else {
              const input = record.decoded.samples;
              const same =
                record.value !== null &&
                result.samples.length === input.length &&
                result.samples.every((sample, i) => sample === input[i]);
              outputs.push(
                ...plan.emit(
                  record.key,
                  record.decoded.source,
                  result.samples,
                  same ? record.value! : undefined,
                ),
              );
            }
            settle(record, result);
          }
        // A batch's samples come from many sources: what it emits is the pipeline's.
        if (through.length > 0) outputs.push(...plan.emit(null, source, through));
        tally.flush();
        return { outputs, rejected };
      },
      // Operators see time pass: windows of quiet sources close (only once caught up).
      ...(plan.steps.some(isOperator) && {
        tick: {
          every: pipeline.tick,
          run: (steps, { caughtUp, now: at }) =>
            plan.emit(
              null,
              source,
              runChain(
                steps,
                [],
                () => at,
                telemetry,
                () => caughtUp,
              ).samples,
            ),
        },
      }),
      now,
    });
  });
}

const isOperator = (step: StepConfig) => processorNamed(step.name)?.state !== undefined;

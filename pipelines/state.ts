// Operator state that survives restarts and rebalances: after each batch of an input partition
// (its outputs acknowledged, its offset not yet committed) the partition's operator state is
// written to a compacted changelog topic, with the last input offset it covers. When a partition
// is assigned, its state is restored from there, and input at or before that offset — redelivered
// because a crash came between the changelog write and the commit — is skipped, so nothing is
// counted twice and nothing lost.
import type { Kafka } from "kafkajs";
import { decode, encode } from "../schemas/codec.js";
import type { PipelineState } from "../schemas/types.js";
import type { OutboundRecord } from "../services/chassis/producer.js";
import { readToEnd } from "../services/chassis/read-to-end.js";
import type { Step } from "./chain.js";

export const stateKey = (pipeline: string, topic: string, partition: number) =>
  `${pipeline}|${topic}|${partition}`;

export function snapshotRecord(
  changelog: string,
  pipeline: string,
  topic: string,
  partition: number,
  lastOffset: number,
  steps: Step[],
  now: number,
): OutboundRecord {
  const state: PipelineState = {
    pipeline,
    topic,
    partition,
    lastOffset,
    steps: JSON.stringify(steps.map((s) => s.snapshot?.() ?? null)),
    time: now,
  };
  return {
    topic: changelog,
    key: stateKey(pipeline, topic, partition),
    value: encode("pipeline-state", state),
  };
}

export function restoreSteps(steps: Step[], state: PipelineState): void {
  const snapshots = JSON.parse(state.steps) as unknown[];
  steps.forEach((step, i) => {
    if (snapshots[i] !== null && snapshots[i] !== undefined) step.restore?.(snapshots[i]);
  });
}

/** The latest state of every partition of `pipeline`, read from the start of the changelog. */
export async function loadStates(
  kafka: Kafka,
  changelog: string,
  pipeline: string,
): Promise<Map<string, PipelineState>> {
  const states = new Map<string, PipelineState>();
  await readToEnd(
    kafka,
    changelog,
    (messages) => {
      for (const message of messages) {
        const state = decode("pipeline-state", message.value);
        if (state.pipeline === pipeline)
          states.set(stateKey(pipeline, state.topic, state.partition), state);
      }
    },
    { group: `vigil-restore-${pipeline}` },
  );
  return states;
}

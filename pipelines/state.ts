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
import { RetryableError } from "../services/chassis/errors.js";
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
  snapshot: unknown,
  now: number,
): OutboundRecord {
  const state: PipelineState = {
    pipeline,
    topic,
    partition,
    lastOffset,
    steps: JSON.stringify(snapshot),
    time: now,
  };
  return {
    topic: changelog,
    key: stateKey(pipeline, topic, partition),
    value: encode("pipeline-state", state),
  };
}

export const snapshotSteps = (steps: Step[]) => steps.map((s) => s.snapshot?.() ?? null);

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

export interface PartitionStateOptions<T> {
  kafka: Kafka;
  changelog: string;
  /** Whose state: the pipeline's (or detector's) name in the changelog. */
  owner: string;
  /** Without it, every partition starts empty. */
  stateful: boolean;
  /** The partitions this member owns now; a new set means a rebalance happened. */
  assignment: () => ReadonlySet<string>;
  /** The in-memory state of a partition, from what the changelog held (if anything). */
  create: (saved: PipelineState | undefined) => T;
  onRestore?: (topic: string, partition: number, saved: PipelineState) => void;
}

/**
 * The in-memory state of each input partition this member owns, restored from the changelog the
 * first time a partition is seen — and again after any rebalance, since the state may have moved
 * on elsewhere meanwhile.
 */
export function partitionStates<T>(options: PartitionStateOptions<T>) {
  const states = new Map<string, { topic: string; partition: number; state: T }>();
  let seenAssignment: ReadonlySet<string> | undefined;
  let saved: Promise<Map<string, PipelineState>> | undefined;

  async function get(topic: string, partition: number, heartbeat: () => Promise<void>): Promise<T> {
    if (options.assignment() !== seenAssignment) {
      seenAssignment = options.assignment();
      states.clear();
      saved = undefined;
    }
    const at = `${topic}:${partition}`;
    const known = states.get(at);
    if (known) return known.state;
    saved ??= options.stateful
      ? loadStates(options.kafka, options.changelog, options.owner)
      : Promise.resolve(new Map());
    let state: PipelineState | undefined;
    // Reading the changelog takes a moment: keep our place in the group meanwhile.
    const beat = setInterval(() => void heartbeat().catch(() => undefined), 1_000);
    try {
      state = (await saved).get(stateKey(options.owner, topic, partition));
    } catch (error) {
      saved = undefined;
      // Not the data's fault: the batch waits (and its partition with it) until state can be read.
      throw new RetryableError(
        `cannot read state from ${options.changelog}: ${(error as Error).message}`,
      );
    } finally {
      clearInterval(beat);
    }
    const created = options.create(state);
    states.set(at, { topic, partition, state: created });
    if (state) options.onRestore?.(topic, partition, state);
    return created;
  }

  return {
    get,
    peek: (topic: string, partition: number) => states.get(`${topic}:${partition}`)?.state,
    /** Every partition's state, with where it belongs. */
    all: () => [...states.values()],
    /** Forgets everything: the next use re-reads the changelog (after a failed write). */
    reset: () => {
      states.clear();
      saved = undefined;
    },
  };
}

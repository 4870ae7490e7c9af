// The processor API. A processor is one file: a name, a declared configuration (zod, unknown keys
// rejected) and either
//   * a function over a batch (`defineFunction`): clean, filter, enrich — pure, no state; or
//   * an operator (`defineOperator`): per-series logic that keeps state, through the explicit
//     StateStore it is given (one store per input partition, so state moves with its partition).
//     Each key it sets or deletes is written to the changelog at the next commit; a value changed
//     in place must be set again. An operator whose state is grouped by something other than the
//     series (window-aggregate's `groupBy`) declares `partitionKey`: the pipeline then re-keys its
//     input by it through a repartition topic, so one group's samples meet on one partition.
// A processor never throws for a bad sample: it returns it as `rejected`, with a reason, and the
// runtime sends it to the dead-letter topic. Time comes from `context.now()`, never the wall clock.
import type { z } from "zod";
import type { MetricSample } from "../schemas/types.js";
import type { ErrorCode } from "../services/chassis/errors.js";
import { KeyedStore, type StoreCodec } from "../services/chassis/state-store.js";

export interface Rejected {
  sample: MetricSample;
  code: ErrorCode;
  reason: string;
}

export interface Result {
  samples: MetricSample[];
  rejected?: Rejected[];
  /** Samples that came after their window closed: routed to the pipeline's late topic, counted. */
  late?: MetricSample[];
}

export interface Context {
  /** Processing time, injected: tests set it, services pass the clock. */
  now(): number;
  /** Counts samples a processor deliberately does not pass on (not rejected): every drop counted. */
  count(reason: string, n?: number): void;
  /**
   * The input is read to its end: only then may quiet mean idle (a backlog is not a pause).
   * Always true offline.
   */
  caughtUp(): boolean;
}

/** Key-value state of one operator instance; bounded by the operator itself. */
export interface StateStore<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
  readonly size: number;
  entries(): IterableIterator<[string, V]>;
}

export type Process = (samples: MetricSample[], context: Context) => Result;

/** One running processor. */
export interface Instance {
  process: Process;
}

export interface ProcessorSpec<C extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  config: C;
  /** Operators: how their state's values travel to the changelog. Functions have none. */
  state?: StoreCodec<unknown>;
  /**
   * Operators whose state is grouped by more than the series: the key of a sample's group, or
   * undefined for a sample the operator does not take.
   */
  partitionKey?: (config: z.output<C>) => (sample: MetricSample) => string | undefined;
  /** Labels every group of a grouping operator fixes (its `groupBy`): input keyed by one needs no hop. */
  groupLabels?: (config: z.output<C>) => string[];
  /** An instance over `store` (an operator's; a fresh in-memory one when not given). */
  create(config: z.output<C>, store?: StateStore<unknown>): Instance;
}

export function defineFunction<C extends z.ZodType>(spec: {
  name: string;
  description: string;
  config: C;
  process: (samples: MetricSample[], config: z.output<C>, context: Context) => Result;
}): ProcessorSpec<C> {
  return {
    name: spec.name,
    description: spec.description,
    config: spec.config,
    create: (config) => ({ process: (samples, context) => spec.process(samples, config, context) }),
  };
}

/**
 * An operator keeps everything it must remember in its StateStore — nothing in closures that the
 * store cannot rebuild — so its state can go to the changelog and be restored on another
 * instance. `encode`/`decode` turn a value into JSON and back when it is not JSON already.
 */
export function defineOperator<C extends z.ZodType, V>(spec: {
  name: string;
  description: string;
  config: C;
  create: (config: z.output<C>, state: StateStore<V>) => Process;
  encode?: (value: V) => unknown;
  decode?: (json: unknown) => V;
  /** A compact binary form of a value, told its state key (see StoreCodec). */
  toBytes?: (value: V, key: string) => Buffer;
  fromBytes?: (bytes: Buffer, key: string) => V;
  partitionKey?: (config: z.output<C>) => (sample: MetricSample) => string | undefined;
  groupLabels?: (config: z.output<C>) => string[];
}): ProcessorSpec<C> {
  const codec: StoreCodec<V> = {
    encode: spec.encode ?? ((v: V) => v as unknown),
    decode: spec.decode ?? ((j: unknown) => j as V),
    ...(spec.toBytes && { toBytes: spec.toBytes }),
    ...(spec.fromBytes && { fromBytes: spec.fromBytes }),
  };
  return {
    name: spec.name,
    description: spec.description,
    config: spec.config,
    state: codec as StoreCodec<unknown>,
    ...(spec.partitionKey && { partitionKey: spec.partitionKey }),
    ...(spec.groupLabels && { groupLabels: spec.groupLabels }),
    create: (config, store) => ({
      process: spec.create(
        config,
        (store as StateStore<V> | undefined) ?? new KeyedStore<V>(spec.name, codec, false),
      ),
    }),
  };
}

/** The identity of a series: its name and sorted labels. */
export function seriesKey(sample: Pick<MetricSample, "name" | "labels">): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(sample.labels[k])}`);
  return `${sample.name}{${labels.join(",")}}`;
}

/**
 * The series key of a sample's name and the `groupBy` labels it has — what
 * `seriesKey({ name, labels: those labels })` gives — built without either object: it runs for
 * every sample a grouping operator takes.
 */
export function groupKeyOf(
  groupBy: string[],
): (sample: Pick<MetricSample, "name" | "labels">) => string {
  const names = [...new Set(groupBy)].sort();
  return (sample) => {
    let key = `${sample.name}{`;
    let first = true;
    for (const label of names) {
      const value = sample.labels[label];
      if (value === undefined) continue;
      key += `${first ? "" : ","}${label}=${JSON.stringify(value)}`;
      first = false;
    }
    return `${key}}`;
  };
}

/** A series key back into its name and labels (the inverse of seriesKey). */
export function parseSeriesKey(key: string): { name: string; labels: Record<string, string> } {
  if (!key.endsWith("}")) throw new Error(`not a series key: ${key.slice(0, 200)}`);
  // The name may hold "{" (UTF-8 names): the labels start at the first brace they parse from.
  for (let open = key.indexOf("{"); open >= 0; open = key.indexOf("{", open + 1)) {
    const labels = labelsOf(key.slice(open + 1, -1));
    if (labels) return { name: key.slice(0, open), labels };
  }
  throw new Error(`not a series key: ${key.slice(0, 200)}`);
}

/** `a="x",b="y"` (values as JSON strings) into labels; undefined when it is not that. */
function labelsOf(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  let at = 0;
  while (at < text.length) {
    const eq = text.indexOf("=", at);
    if (eq <= at || text[eq + 1] !== '"' || /[{},"]/.test(text.slice(at, eq))) return undefined;
    let end = eq + 2;
    while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
    if (end >= text.length) return undefined;
    try {
      labels[text.slice(at, eq)] = JSON.parse(text.slice(eq + 1, end + 1)) as string;
    } catch {
      return undefined;
    }
    at = end + 1;
    if (at < text.length && text[at++] !== ",") return undefined;
  }
  return labels;
}

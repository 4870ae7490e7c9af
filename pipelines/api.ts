// The processor API. A processor is one file: a name, a declared configuration (zod, unknown keys
// rejected) and either
//   * a function over a batch (`defineFunction`): clean, filter, enrich — pure, no state; or
//   * an operator (`defineOperator`): per-series logic that keeps state, through the explicit
//     StateStore it is given (one store per input partition, so state moves with its partition).
// A processor never throws for a bad sample: it returns it as `rejected`, with a reason, and the
// runtime sends it to the dead-letter topic. Time comes from `context.now()`, never the wall clock.
import type { z } from "zod";
import type { MetricSample } from "../schemas/types.js";
import type { ErrorCode } from "../services/chassis/errors.js";

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

/** One running processor. An operator's can snapshot its state (JSON) and restore it. */
export interface Instance {
  process: Process;
  snapshot?: () => unknown;
  restore?: (snapshot: unknown) => void;
}

export interface ProcessorSpec<C extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  config: C;
  /** A fresh instance: for an operator, with its own empty state. */
  create(config: z.output<C>): Instance;
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
 * An operator keeps everything it must remember in its StateStore — nothing in closures — so its
 * state can be snapshot to the changelog and restored on another instance. `encode`/`decode`
 * turn a value into JSON and back when it is not JSON already (a sketch, a Set).
 */
export function defineOperator<C extends z.ZodType, V>(spec: {
  name: string;
  description: string;
  config: C;
  create: (config: z.output<C>, state: StateStore<V>) => Process;
  encode?: (value: V) => unknown;
  decode?: (json: unknown) => V;
}): ProcessorSpec<C> {
  const encode = spec.encode ?? ((v: V) => v as unknown);
  const decode = spec.decode ?? ((j: unknown) => j as V);
  return {
    name: spec.name,
    description: spec.description,
    config: spec.config,
    create: (config) => {
      const state = new MemoryState<V>();
      return {
        process: spec.create(config, state),
        snapshot: () => [...state.entries()].map(([key, value]) => [key, encode(value)]),
        restore: (snapshot) => {
          state.clear();
          for (const [key, value] of snapshot as [string, unknown][]) state.set(key, decode(value));
        },
      };
    },
  };
}

/** In-process state; the pipeline service snapshots it to a changelog topic after each batch. */
export class MemoryState<V> implements StateStore<V> {
  private map = new Map<string, V>();
  clear = () => this.map.clear();
  get = (key: string) => this.map.get(key);
  set = (key: string, value: V) => void this.map.set(key, value);
  delete = (key: string) => void this.map.delete(key);
  get size() {
    return this.map.size;
  }
  entries = () => this.map.entries();
}

/** The identity of a series: its name and sorted labels. */
export function seriesKey(sample: Pick<MetricSample, "name" | "labels">): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(sample.labels[k])}`);
  return `${sample.name}{${labels.join(",")}}`;
}

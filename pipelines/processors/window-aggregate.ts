// window-aggregate: event-time windows (tumbling, or hopping when `advance` < `size`) per metric
// and group of labels, emitting count, sum, min, max, mean, last, rate and percentiles when a
// window closes. A window keeps its first values as they are: while it has at most RAW_VALUES of
// them its percentiles are exact (the value at rank floor(q × (n − 1)), the rank DDSketch uses),
// and it costs a few numbers, not a sketch's bins (hundreds, for values spread over decades), in
// memory, in the changelog and in CPU. Past RAW_VALUES it makes a DDSketch (relative accuracy 1%)
// of them, which merges, so partial aggregates combine exactly as sketches.
//
// Watermark (per group) = the group's newest event time − `allowedLateness`; a window closes once
// its end is at or before its group's watermark — or, when the input is read to its end and no sample has arrived for
// `idleTimeout` of processing time, every open window closes, so a source that goes quiet still
// gets its last window (a backlog being worked through is never idle). A sample whose windows
// have all closed is late: it goes to the late topic and is counted, never dropped.
// Output samples are named <metric>_<aggregate>, carry the grouped labels plus `window`, and are
// stamped with the window's end, so a replay produces the same samples. Only aggregates come out:
// samples of other metrics are not taken (counted as not_selected; they are on the input topic).
//
// Each group keeps its own event-time clock: groups from different sources meet on one partition
// after repartitioning, and one source running ahead must not make another's samples late.
// State: one key per open window (`<group>@<start>`), set again whenever the window changes, and
// one clock per group, so a commit writes what a batch touched. Closing looks only at the open
// windows of the groups a batch touched, through an in-memory index rebuilt from the store when
// the operator is created — never a scan of every window (except once idle, when all close).
// The pipeline partitions the input by group (`partitionKey`), so one group's partial windows
// never sit on two partitions.
import { DDSketch } from "@datadog/sketches-js";
import { z } from "zod";
import type { MetricSample } from "../../schemas/types.js";
import { duration } from "../../services/chassis/config.js";
import { defineOperator, groupKeyOf, parseSeriesKey } from "../api.js";
import { CLOCK, closeGroups, type GroupClock } from "../group-windows.js";

const AGGREGATES = [
  "count",
  "sum",
  "min",
  "max",
  "mean",
  "last",
  "rate",
  "p50",
  "p90",
  "p95",
  "p99",
] as const;
type Aggregate = (typeof AGGREGATES)[number];

interface Window {
  name: string;
  labels: Record<string, string>;
  start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  firstAt: number;
  last: number;
  lastAt: number;
  /** Only where a percentile is asked: the values while few, then a sketch of them. */
  values?: number[];
  sketch?: DDSketch;
}

/** Event time of one group: its windows close by its own watermark. */
type Clock = GroupClock;

const RELATIVE_ACCURACY = 0.01;
const RAW_VALUES = 64;

/** The window's percentile `q`: exact from its values while it keeps them, else its sketch's. */
function quantile(window: Window, q: number): number | undefined {
  const values = window.values;
  if (values && values.length > 0 && !values.some(Number.isNaN)) {
    const sorted = values.length === 1 ? values : Float64Array.from(values).sort();
    return sorted[Math.floor(q * (values.length - 1))];
  }
  return sketchOf(window)?.getValueAtQuantile(q);
}

/** The window's sketch, made from its values if it has none yet. */
function sketchOf(window: Window): DDSketch | undefined {
  if (window.values) {
    const sketch = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
    for (const v of window.values) sketch.accept(v);
    window.sketch = sketch;
    window.values = undefined;
  }
  return window.sketch;
}

const config = z
  .strictObject({
    /** Metric names to aggregate; others are not taken. Empty: all. */
    metrics: z.array(z.string()).default([]),
    /** Labels that define a group; all others are aggregated away. */
    groupBy: z.array(z.string()).default([]),
    size: duration,
    /** How far apart windows start; equal to size (the default) for tumbling windows. */
    advance: duration.optional(),
    allowedLateness: duration.default(0),
    /** Processing time without input after which every open window closes; 0 never. */
    idleTimeout: duration.default(30_000),
    aggregates: z
      .array(z.enum(AGGREGATES))
      .min(1)
      .default(["count", "sum", "min", "max", "mean", "last", "p50", "p90", "p95", "p99"]),
  })
  .refine(
    (c) => c.size > 0 && (c.advance === undefined || (c.advance > 0 && c.advance <= c.size)),
    {
      message: "size must be positive and advance between 0 and size",
    },
  );

function value(window: Window, aggregate: Aggregate): number | undefined {
  switch (aggregate) {
    case "count":
      return window.count;
    case "sum":
      return window.sum;
    case "min":
      return window.min;
    case "max":
      return window.max;
    case "mean":
      return window.sum / window.count;
    case "last":
      return window.last;
    case "rate":
      return window.lastAt > window.firstAt
        ? (window.last - window.first) / ((window.lastAt - window.firstAt) / 1000)
        : undefined;
    default:
      return quantile(window, Number(aggregate.slice(1)) / 100);
  }
}

type Entry = Window | { lastInputAt: number } | Clock;
type Encoded = (Omit<Window, "sketch"> & { sketch?: string }) | Exclude<Entry, Window>;
const isWindow = (entry: Entry | Encoded): entry is Window => "start" in entry;

export const windowAggregate = defineOperator<typeof config, Entry>({
  name: "window-aggregate",
  description:
    "Event-time tumbling or hopping windows per metric and label group: count, sum, min, max, mean, last, rate, percentiles.",
  config,
  // A sketch travels as its protobuf bytes; count, sum, min and max are kept beside it.
  encode: (entry) =>
    isWindow(entry) && entry.sketch
      ? { ...entry, sketch: Buffer.from(entry.sketch.toProto()).toString("base64") }
      : entry,
  decode: (json) => {
    const entry = json as Encoded;
    return "start" in entry && entry.sketch !== undefined
      ? { ...entry, sketch: sketchFrom(entry.sketch) }
      : (entry as Entry);
  },
  toBytes: entryBytes,
  fromBytes: entryFrom,
  groupLabels: (cfg) => cfg.groupBy,
  partitionKey: (cfg) => {
    const wanted = new Set(cfg.metrics);
    const keyOf = groupKeyOf(cfg.groupBy);
    return (sample) => (wanted.size > 0 && !wanted.has(sample.name) ? undefined : keyOf(sample));
  },
  create: (cfg, state) => {
    const advance = cfg.advance ?? cfg.size;
    const wanted = new Set(cfg.metrics);
    const windowLabel = `${cfg.size / 1000}s`;
    const percentiles = cfg.aggregates.some((a) => a.startsWith("p"));
    const groupOf = groupKeyOf(cfg.groupBy);
    // JSON has no infinities: a restored clock that has not seen a sample holds null.
    const storedClock = (group: string): Clock => {
      const c = state.get(CLOCK + group) as Clock | undefined;
      return {
        maxEventTime: c?.maxEventTime ?? -Infinity,
        closedUpTo: c?.closedUpTo ?? -Infinity,
      };
    };
    /** Open windows by group: closing looks only at the groups a batch touched (or all, idle). */
    const open = new Map<string, Set<string>>();
    const track = (group: string, key: string) => {
      let keys = open.get(group);
      if (!keys) open.set(group, (keys = new Set()));
      keys.add(key);
    };
    for (const [key] of state.entries())
      if (!key.startsWith("~")) track(key.slice(0, key.lastIndexOf("@")), key);
    /**
     * Per group, what its last sample touched — its clock and newest window, and the batch that
     * last marked them — so a sample of a window already taken this batch costs one lookup, not a
     * key built and five map operations. The window is the store's own object (changed in place,
     * set once a batch: the commit after the batch writes its value then).
     */
    interface Slot {
      clock: Clock;
      batch: number;
      key?: string;
      start?: number;
      window?: Window;
      marked?: number;
    }
    const slots = new Map<string, Slot>();
    let batch = 0;
    const slotOf = (group: string): Slot => {
      let slot = slots.get(group);
      if (!slot) slots.set(group, (slot = { clock: storedClock(group), batch: 0 }));
      return slot;
    };
    /** A group's clock: one object from its first use, the one the store holds once written. */
    const clockOf = (group: string): Clock => slotOf(group).clock;

    /** Output names per metric: `<metric>_<aggregate>`, built once. */
    const names = new Map<string, string[]>();
    const outputNames = (metric: string) => {
      let found = names.get(metric);
      if (!found) {
        if (names.size >= 10_000) names.clear(); // bounded, whatever the names
        names.set(metric, (found = cfg.aggregates.map((a) => `${metric}_${a}`)));
      }
      return found;
    };

    /** Closes the group's windows that end at or before `upTo`, oldest first. */
    function close(group: string, upTo: number, clock: Clock, out: MetricSample[]): void {
      const keys = open.get(group);
      if (!keys) return;
      const closing: [string, Window][] = [];
      for (const key of keys) {
        const w = state.get(key) as Window | undefined;
        if (w !== undefined && w.start + cfg.size <= upTo) closing.push([key, w]);
      }
      if (closing.length > 1) closing.sort(([, a], [, b]) => a.start - b.start);
      const slot = slots.get(group);
      for (const [key, w] of closing) {
        const end = w.start + cfg.size;
        // One labels object for the window's aggregates (samples are never changed in place):
        // keying the output by series then takes one key per window, not one per aggregate.
        const labels = { ...w.labels, window: windowLabel };
        const named = outputNames(w.name);
        cfg.aggregates.forEach((aggregate, i) => {
          const v = value(w, aggregate);
          if (v === undefined) return;
          out.push({
            name: named[i]!,
            value: v,
            timestamp: end,
            labels,
            type: "gauge",
            unit: "",
            startTimestamp: null,
          });
        });
        state.delete(key);
        keys.delete(key);
        if (slot?.window === w) slot.window = slot.key = slot.start = undefined;
        clock.closedUpTo = Math.max(clock.closedUpTo, end);
      }
      if (keys.size === 0) open.delete(group);
    }

    /** Adds a sample to its window `start` of `group` (made when it has none). */
    function add(group: string, start: number, key: string, sample: MetricSample): Window {
      let w = state.get(key) as Window | undefined;
      if (!w) {
        w = {
          name: sample.name,
          labels: groupLabels(cfg.groupBy, sample),
          start,
          count: 0,
          sum: 0,
          min: Infinity,
          max: -Infinity,
          first: sample.value,
          firstAt: sample.timestamp,
          last: sample.value,
          lastAt: sample.timestamp,
          ...(percentiles && { values: [] }),
        };
        track(group, key);
      }
      take(w, sample);
      state.set(key, w); // changed in place: written at the next commit
      return w;
    }

    return (samples, context) => {
      batch += 1;
      const late: MetricSample[] = [];
      const clocks = new Map<string, Clock>();
      let skipped = 0;
      for (const sample of samples) {
        if (wanted.size > 0 && !wanted.has(sample.name)) {
          skipped += 1;
          continue;
        }
        const group = groupOf(sample);
        const slot = slotOf(group);
        const clock = slot.clock;
        if (slot.batch !== batch) {
          slot.batch = batch;
          clocks.set(group, clock);
        }
        const watermark = Math.max(clock.maxEventTime - cfg.allowedLateness, clock.closedUpTo);
        const newestStart = Math.floor(sample.timestamp / advance) * advance;
        if (newestStart + cfg.size <= watermark) {
          late.push(sample);
          context.count("late");
          continue;
        }
        if (slot.window !== undefined && slot.start === newestStart) {
          take(slot.window, sample);
          if (slot.marked !== batch) {
            state.set(slot.key!, slot.window);
            slot.marked = batch;
          }
        } else {
          const key = `${group}@${newestStart}`;
          const w = add(group, newestStart, key, sample);
          [slot.key, slot.start, slot.window, slot.marked] = [key, newestStart, w, batch];
        }
        // Hopping windows: the older ones that still cover the sample.
        for (
          let start = newestStart - advance;
          start > sample.timestamp - cfg.size;
          start -= advance
        )
          if (start + cfg.size > watermark) add(group, start, `${group}@${start}`, sample);
        clock.maxEventTime = Math.max(clock.maxEventTime, sample.timestamp);
      }
      if (skipped > 0) context.count("not_selected", skipped);
      const closed: MetricSample[] = [];
      closeGroups({
        state,
        context,
        touched: clocks,
        open: () => open.keys(),
        clockOf,
        hadInput: clocks.size > 0 || late.length > 0,
        allowedLateness: cfg.allowedLateness,
        idleTimeout: cfg.idleTimeout,
        close: (group, upTo, clock) => close(group, upTo, clock, closed),
      });
      return { samples: closed, late };
    };
  },
});

// Binary state, what the changelog holds: a tag byte, then float64s (±Infinity as they are).
//   window: start count sum min max first firstAt last lastAt, then the sketch's protobuf bytes
//           where percentiles are asked (its metric and labels are in the key: "<series key>@<start>")
//   window with its values: the same nine, then the values
//   clock:  maxEventTime closedUpTo
//   meta:   lastInputAt
const WINDOW_TAG = 1;
const CLOCK_TAG = 2;
const META_TAG = 3;
const VALUES_TAG = 4;
const WINDOW_FIELDS = [
  "start",
  "count",
  "sum",
  "min",
  "max",
  "first",
  "firstAt",
  "last",
  "lastAt",
] as const;

function entryBytes(entry: Entry): Buffer {
  if (isWindow(entry)) {
    const head = 1 + 8 * WINDOW_FIELDS.length;
    const values = entry.values;
    const sketch = values ? undefined : (entry.sketch?.toProto() ?? new Uint8Array(0));
    const out = Buffer.allocUnsafe(head + (values ? 8 * values.length : sketch!.length));
    out[0] = values ? VALUES_TAG : WINDOW_TAG;
    WINDOW_FIELDS.forEach((field, i) => out.writeDoubleLE(entry[field], 1 + 8 * i));
    if (values) values.forEach((v, i) => out.writeDoubleLE(v, head + 8 * i));
    else out.set(sketch!, head);
    return out;
  }
  if ("maxEventTime" in entry) {
    const out = Buffer.allocUnsafe(17);
    out[0] = CLOCK_TAG;
    out.writeDoubleLE(entry.maxEventTime, 1);
    out.writeDoubleLE(entry.closedUpTo, 9);
    return out;
  }
  const out = Buffer.allocUnsafe(9);
  out[0] = META_TAG;
  out.writeDoubleLE(entry.lastInputAt, 1);
  return out;
}

function entryFrom(bytes: Buffer, key: string): Entry {
  const at = (i: number) => bytes.readDoubleLE(1 + 8 * i);
  switch (bytes[0]) {
    case WINDOW_TAG:
    case VALUES_TAG: {
      const { name, labels } = parseSeriesKey(key.slice(0, key.lastIndexOf("@")));
      const window = { name, labels } as Window;
      WINDOW_FIELDS.forEach((field, i) => (window[field] = at(i)));
      const rest = bytes.subarray(1 + 8 * WINDOW_FIELDS.length);
      if (bytes[0] === VALUES_TAG)
        window.values = Array.from({ length: rest.length / 8 }, (_, i) => rest.readDoubleLE(8 * i));
      else if (rest.length > 0) window.sketch = sketchFrom(rest);
      return window;
    }
    case CLOCK_TAG:
      return { maxEventTime: at(0), closedUpTo: at(1) };
    case META_TAG:
      return { lastInputAt: at(0) };
    default:
      throw new Error(`unknown window-aggregate state tag ${bytes[0]}`);
  }
}

/**
 * A sketch from its protobuf bytes, over a mapping built from the relative accuracy we use rather
 * than from the gamma in the bytes: the one read back differs in the last bits, which would move a
 * restored window's percentiles by 1e-16 against one never restored.
 */
function sketchFrom(proto: string | Uint8Array): DDSketch {
  const read = DDSketch.fromProto(typeof proto === "string" ? Buffer.from(proto, "base64") : proto);
  const sketch = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
  sketch.store = read.store;
  sketch.negativeStore = read.negativeStore;
  sketch.zeroCount = read.zeroCount;
  sketch.count = read.count;
  return sketch;
}

/** Counts a sample into its window. */
function take(w: Window, sample: MetricSample): void {
  const v = sample.value;
  w.count += 1;
  w.sum += v;
  if (v < w.min) w.min = v;
  if (v > w.max) w.max = v;
  if (sample.timestamp < w.firstAt) [w.first, w.firstAt] = [v, sample.timestamp];
  if (sample.timestamp >= w.lastAt) [w.last, w.lastAt] = [v, sample.timestamp];
  if (w.values) {
    w.values.push(v);
    if (w.values.length > RAW_VALUES) sketchOf(w);
  } else w.sketch?.accept(v);
}

/** The `groupBy` labels a sample has: its window's labels. */
function groupLabels(groupBy: string[], sample: MetricSample): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of groupBy) if (sample.labels[l] !== undefined) labels[l] = sample.labels[l];
  return labels;
}

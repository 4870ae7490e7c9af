// window-aggregate: event-time windows (tumbling, or hopping when `advance` < `size`) per metric
// and group of labels, emitting count, sum, min, max, mean, last, rate and percentiles when a
// window closes. Percentiles come from DDSketch (relative accuracy 1%), which merges, so partial
// aggregates combine exactly as sketches.
//
// Watermark = newest event time seen − `allowedLateness`; a window closes once its end is at or
// before the watermark — or, when the input is read to its end and no sample has arrived for
// `idleTimeout` of processing time, every open window closes, so a source that goes quiet still
// gets its last window (a backlog being worked through is never idle). A sample whose windows
// have all closed is late: it goes to the late topic and is counted, never dropped.
// Output samples are named <metric>_<aggregate>, carry the grouped labels plus `window`, and are
// stamped with the window's end, so a replay produces the same samples. Only aggregates come out:
// samples of other metrics are not taken (counted as not_selected; they are on the input topic).
//
// State: one key per open window (`<group>@<start>`), set again whenever the window changes, so a
// commit writes the windows a batch touched. Closing finds windows through an in-memory index by
// window end, rebuilt from the store when the operator is created — never a scan of every window.
// The pipeline partitions the input by group (`partitionKey`), so one group's partial windows
// never sit on two partitions.
import { DDSketch } from "@datadog/sketches-js";
import { z } from "zod";
import type { MetricSample } from "../../schemas/types.js";
import { duration } from "../../services/chassis/config.js";
import { defineOperator, seriesKey } from "../api.js";

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
  sketch: DDSketch;
}

interface Meta {
  maxEventTime: number;
  lastInputAt: number;
  /** End of the latest window closed: a window that ends there or before can never reopen. */
  closedUpTo: number;
}

const META = "~meta";

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
      return window.sketch.getValueAtQuantile(Number(aggregate.slice(1)) / 100);
  }
}

type Entry = Window | Meta;
type Encoded = (Omit<Window, "sketch"> & { sketch: string }) | Meta;

export const windowAggregate = defineOperator<typeof config, Entry>({
  name: "window-aggregate",
  description:
    "Event-time tumbling or hopping windows per metric and label group: count, sum, min, max, mean, last, rate, percentiles.",
  config,
  // A sketch travels as its protobuf bytes; count, sum, min and max are kept beside it.
  encode: (entry) =>
    "sketch" in entry
      ? { ...entry, sketch: Buffer.from(entry.sketch.toProto()).toString("base64") }
      : entry,
  decode: (json) => {
    const entry = json as Encoded;
    return "sketch" in entry
      ? { ...entry, sketch: DDSketch.fromProto(Buffer.from(entry.sketch, "base64")) }
      : entry;
  },
  partitionKey: (cfg) => {
    const wanted = new Set(cfg.metrics);
    return (sample) =>
      wanted.size > 0 && !wanted.has(sample.name) ? undefined : groupOf(cfg.groupBy, sample).key;
  },
  create: (cfg, state) => {
    const advance = cfg.advance ?? cfg.size;
    const wanted = new Set(cfg.metrics);
    const windowLabel = `${cfg.size / 1000}s`;
    const meta = (): Meta =>
      (state.get(META) as Meta | undefined) ?? {
        maxEventTime: -Infinity,
        lastInputAt: 0,
        closedUpTo: -Infinity,
      };
    /** Open windows by end: what closes up to a time is found without a scan. */
    const byEnd = new Map<number, Set<string>>();
    const index = (key: string, end: number) => {
      let keys = byEnd.get(end);
      if (!keys) byEnd.set(end, (keys = new Set()));
      keys.add(key);
    };
    for (const [key, entry] of state.entries())
      if (key !== META) index(key, (entry as Window).start + cfg.size);

    function close(upTo: number, m: Meta): MetricSample[] {
      const out: MetricSample[] = [];
      const ends = [...byEnd.keys()].filter((end) => end <= upTo).sort((a, b) => a - b);
      for (const end of ends) {
        for (const key of byEnd.get(end)!) {
          const w = state.get(key) as Window | undefined;
          if (!w) continue;
          for (const aggregate of cfg.aggregates) {
            const v = value(w, aggregate);
            if (v === undefined) continue;
            out.push({
              name: `${w.name}_${aggregate}`,
              value: v,
              timestamp: end,
              labels: { ...w.labels, window: windowLabel },
              type: "gauge",
              unit: "",
              startTimestamp: null,
            });
          }
          state.delete(key);
        }
        byEnd.delete(end);
        m.closedUpTo = Math.max(m.closedUpTo, end);
      }
      return out;
    }

    return (samples, context) => {
      const now = context.now();
      const m = meta();
      const late: MetricSample[] = [];
      let skipped = 0;
      for (const sample of samples) {
        if (wanted.size > 0 && !wanted.has(sample.name)) {
          skipped += 1;
          continue;
        }
        const watermark = Math.max(m.maxEventTime - cfg.allowedLateness, m.closedUpTo);
        const newestStart = Math.floor(sample.timestamp / advance) * advance;
        if (newestStart + cfg.size <= watermark) {
          late.push(sample);
          context.count("late");
          continue;
        }
        const { key: group, labels } = groupOf(cfg.groupBy, sample);
        for (let start = newestStart; start > sample.timestamp - cfg.size; start -= advance) {
          if (start + cfg.size <= watermark) continue; // this hop has closed; newer ones still take it
          const key = `${group}@${start}`;
          let w = state.get(key) as Window | undefined;
          if (!w) {
            w = {
              name: sample.name,
              labels,
              start,
              count: 0,
              sum: 0,
              min: Infinity,
              max: -Infinity,
              first: sample.value,
              firstAt: sample.timestamp,
              last: sample.value,
              lastAt: sample.timestamp,
              sketch: new DDSketch({ relativeAccuracy: 0.01 }),
            };
            index(key, start + cfg.size);
          }
          w.count += 1;
          w.sum += sample.value;
          w.min = Math.min(w.min, sample.value);
          w.max = Math.max(w.max, sample.value);
          if (sample.timestamp < w.firstAt) [w.first, w.firstAt] = [sample.value, sample.timestamp];
          if (sample.timestamp >= w.lastAt) [w.last, w.lastAt] = [sample.value, sample.timestamp];
          w.sketch.accept(sample.value);
          state.set(key, w); // changed in place: written at the next commit
        }
        m.maxEventTime = Math.max(m.maxEventTime, sample.timestamp);
        m.lastInputAt = now;
      }
      if (skipped > 0) context.count("not_selected", skipped);
      const idle =
        cfg.idleTimeout > 0 && now - m.lastInputAt >= cfg.idleTimeout && context.caughtUp();
      const closed = close(idle ? Infinity : m.maxEventTime - cfg.allowedLateness, m);
      if (samples.length > 0 || closed.length > 0) state.set(META, m);
      return { samples: closed, late };
    };
  },
});

/** A sample's group: its metric and the `groupBy` labels it has. */
function groupOf(groupBy: string[], sample: MetricSample) {
  const labels: Record<string, string> = {};
  for (const l of groupBy) if (sample.labels[l] !== undefined) labels[l] = sample.labels[l];
  return { key: seriesKey({ name: sample.name, labels }), labels };
}

// OTLP metrics → Vigil samples, named as Prometheus's OTLP translation names them (so rules and
// dashboards written for Prometheus read them unchanged): `http.server.duration` in "s" becomes
// `http_server_duration_seconds`, a monotonic sum gains `_total`, a histogram its `_bucket{le}`,
// `_sum` and `_count`. Resource attributes `service.name` (with `service.namespace`),
// `service.instance.id` and `host.name` become `job`, `instance` and `host`; others only where
// promoted. Exponential histograms are written as the classic buckets their scale defines.
// A point that cannot be read is rejected (counted, reported in partial_success), never the
// request; exemplars are dropped and counted.
import type { MetricSample, MetricType } from "../../../schemas/types.js";
import { labelNameOf, metricNameOf } from "../../../schemas/names.js";
import type {
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  Metric,
  MetricsRequest,
  NumberDataPoint,
  Resource,
  Scope,
  SummaryDataPoint,
  Temporality,
} from "./proto.js";
import { attributeMap, bigintOf, doubleOf, msOfNanos, numberOf, type KeyValue } from "./values.js";

export interface OtlpLabelSettings {
  /** Resource attributes written as labels on every sample: names, or "all". */
  promoteResourceAttributes: string[] | "all";
  /** Add otel_scope_name and otel_scope_version. */
  scopeLabels: boolean;
}

export interface Converted {
  samples: MetricSample[];
  rejected: number;
  /** The first few reasons, each naming the metric and the point. */
  reasons: string[];
  exemplars: number;
}

/** UCUM units as Prometheus's translation spells them in names. */
const UNIT_WORDS: Record<string, string> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  TiBy: "tibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  TBy: "terabytes",
  m: "meters",
  V: "volts",
  A: "amperes",
  J: "joules",
  W: "watts",
  g: "grams",
  Cel: "celsius",
  Hz: "hertz",
  "%": "percent",
};
const PER_WORDS: Record<string, string> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
  mo: "month",
  y: "year",
};

/** A unit without its `{annotations}`, as words: "By/s" → "bytes_per_second", "1" → "ratio". */
export function unitWords(unit: string): string {
  const bare = unit.replace(/\{[^}]*\}/g, "").trim();
  if (bare === "" || bare === "1") return bare === "1" ? "ratio" : "";
  const [main = "", per] = bare.split("/", 2);
  const words = [main ? (UNIT_WORDS[main] ?? main) : ""];
  if (per) words.push(`per_${PER_WORDS[per] ?? UNIT_WORDS[per] ?? per}`);
  return metricNameOf(words.filter(Boolean).join("_")).replace(/^_+|_+$/g, "");
}

function promName(metric: Metric, counter: boolean, gauge: boolean): string {
  let name = metricNameOf(metric.name ?? "")
    .replace(/_+/g, "_")
    .replace(/(.)_$/, "$1");
  const unit = unitWords(metric.unit ?? "");
  if (unit && !(unit === "ratio" && !gauge) && !name.endsWith(`_${unit}`)) name += `_${unit}`;
  if (counter && !name.endsWith("_total")) name += "_total";
  return name;
}

const DELTA = new Set<unknown>([1, "AGGREGATION_TEMPORALITY_DELTA"]);
const isDelta = (t: Temporality) => DELTA.has(t);

function resourceLabels(
  resource: Resource | null | undefined,
  scope: Scope | null | undefined,
  settings: OtlpLabelSettings,
): Record<string, string> {
  const attrs = attributeMap(resource?.attributes);
  const labels: Record<string, string> = {};
  const promote =
    settings.promoteResourceAttributes === "all"
      ? Object.keys(attrs)
      : settings.promoteResourceAttributes;
  for (const key of promote) if (attrs[key] !== undefined) labels[labelNameOf(key)] = attrs[key];
  const service = attrs["service.name"];
  if (service)
    labels.job = attrs["service.namespace"] ? `${attrs["service.namespace"]}/${service}` : service;
  if (attrs["service.instance.id"]) labels.instance = attrs["service.instance.id"];
  if (attrs["host.name"]) labels.host = attrs["host.name"];
  if (settings.scopeLabels && scope?.name) {
    labels.otel_scope_name = scope.name;
    if (scope.version) labels.otel_scope_version = scope.version;
  }
  return labels;
}

/** A point's attributes over the resource's labels; names that clash after cleaning join with ";". */
function pointLabels(
  base: Record<string, string>,
  point: { attributes?: KeyValue[] | null },
): Record<string, string> {
  const labels = { ...base };
  const attrs = attributeMap(point.attributes);
  const seen = new Set<string>();
  for (const key of Object.keys(attrs).sort()) {
    const name = labelNameOf(key);
    labels[name] = seen.has(name) ? `${labels[name]};${attrs[key]}` : attrs[key]!;
    seen.add(name);
  }
  return labels;
}

class PointError extends Error {}

const NO_RECORDED_VALUE = 1;

/** Converts one export request; never throws for a bad point, only counts and reports it. */
export function samplesOfOtlp(request: MetricsRequest, settings: OtlpLabelSettings): Converted {
  const out: Converted = { samples: [], rejected: 0, reasons: [], exemplars: 0 };
  const reject = (where: string, reason: string, count = 1) => {
    out.rejected += count;
    if (out.reasons.length < 5) out.reasons.push(`${where}: ${reason}`);
  };
  (request.resourceMetrics ?? []).forEach((rm, r) =>
    (rm.scopeMetrics ?? []).forEach((sm, s) => {
      const base = resourceLabels(rm.resource, sm.scope, settings);
      (sm.metrics ?? []).forEach((metric, m) => {
        const where = `resourceMetrics[${r}].scopeMetrics[${s}].metrics[${m}]`;
        const points = pointsOf(metric);
        if (!metric.name) return reject(`${where}.name`, "missing", Math.max(points.length, 1));
        const named = `metric "${metric.name}"`;
        points.forEach((point, p) => {
          out.exemplars += point.exemplars?.length ?? 0;
          if ((point.flags ?? 0) & NO_RECORDED_VALUE) return;
          try {
            const timestamp = msOfNanos(point.timeUnixNano);
            if (timestamp <= 0) throw new PointError("time_unix_nano: missing");
            const start = msOfNanos(point.startTimeUnixNano);
            const labels = pointLabels(base, point);
            const nanos = Number(bigintOf(point.timeUnixNano) % 1_000_000n);
            out.samples.push(
              ...convert(metric, point, {
                timestamp,
                nanos,
                start: start > 0 ? start : null,
                labels,
              }),
            );
          } catch (error) {
            if (!(error instanceof PointError) && !(error instanceof Error)) throw error;
            reject(`${named} dataPoints[${p}]`, (error as Error).message);
          }
        });
      });
    }),
  );
  return out;
}

type AnyPoint = NumberDataPoint &
  HistogramDataPoint &
  ExponentialHistogramDataPoint &
  SummaryDataPoint;

function pointsOf(metric: Metric): AnyPoint[] {
  const data =
    metric.gauge ?? metric.sum ?? metric.histogram ?? metric.exponentialHistogram ?? metric.summary;
  return (data?.dataPoints ?? []) as AnyPoint[];
}

interface At {
  timestamp: number;
  /** Nanoseconds past that millisecond. */
  nanos: number;
  start: number | null;
  labels: Record<string, string>;
}

function convert(metric: Metric, point: AnyPoint, at: At): MetricSample[] {
  const unit = metric.unit ?? "";
  const sample = (
    name: string,
    value: number,
    type: MetricType,
    labels = at.labels,
  ): MetricSample => ({
    name,
    value,
    timestamp: at.timestamp,
    labels,
    type,
    unit,
    startTimestamp: type === "gauge" ? null : at.start,
    ...(at.nanos > 0 && { nanos: at.nanos }),
  });
  if (metric.gauge) return [sample(promName(metric, false, true), numberValue(point), "gauge")];
  if (metric.sum) {
    const counter = Boolean(metric.sum.isMonotonic);
    // A delta is the increase over its own interval, not a running total: written as a gauge so
    // no stage takes its rate, with the interval's start kept.
    const type: MetricType =
      counter && !isDelta(metric.sum.aggregationTemporality) ? "counter" : "gauge";
    return [
      {
        ...sample(promName(metric, counter, !counter), numberValue(point), type),
        startTimestamp: at.start,
      },
    ];
  }
  const name = promName(metric, false, false);
  const totals = (count: number, sum: number | null, kind: MetricType): MetricSample[] => [
    ...(sum === null ? [] : [sample(`${name}_sum`, sum, kind)]),
    sample(`${name}_count`, count, kind),
  ];
  const histogram = metric.histogram ?? metric.exponentialHistogram;
  if (histogram) {
    const kind = isDelta(histogram.aggregationTemporality) ? "gauge" : "counter";
    const count = numberOf(point.count);
    const buckets = metric.histogram
      ? explicitBuckets(point, count)
      : exponentialBuckets(point, count);
    const sum = point.sum === null || point.sum === undefined ? null : doubleOf(point.sum);
    return [
      ...buckets.map(([le, n]) =>
        sample(`${name}_bucket`, n, "histogram_bucket", { ...at.labels, le }),
      ),
      ...totals(count, sum, kind),
    ];
  }
  // Summary.
  return [
    ...(point.quantileValues ?? []).map((q, i) => {
      const quantile = doubleOf(q.quantile);
      if (!(quantile >= 0 && quantile <= 1))
        throw new PointError(`quantile_values[${i}].quantile: ${quantile} is outside [0, 1]`);
      return sample(name, doubleOf(q.value), "summary_quantile", {
        ...at.labels,
        quantile: String(quantile),
      });
    }),
    ...totals(numberOf(point.count), doubleOf(point.sum), "counter"),
  ];
}

function numberValue(point: NumberDataPoint): number {
  if (point.asDouble !== null && point.asDouble !== undefined) return doubleOf(point.asDouble);
  if (point.asInt !== null && point.asInt !== undefined) return Number(bigintOf(point.asInt));
  throw new PointError("value: neither as_double nor as_int");
}

const leText = (bound: number) =>
  bound === Infinity ? "+Inf" : bound === -Infinity ? "-Inf" : String(bound);

/** A classic histogram's buckets, once its counts match its bounds. */
function explicitBuckets(point: HistogramDataPoint, count: number): [string, number][] {
  const bounds = (point.explicitBounds ?? []).map(doubleOf);
  const counts = (point.bucketCounts ?? []).map(numberOf);
  if (counts.length > 0 && counts.length !== bounds.length + 1)
    throw new PointError(
      `bucket_counts: ${counts.length} buckets for ${bounds.length} explicit_bounds (expected ${bounds.length + 1})`,
    );
  return cumulative(bounds, counts, count);
}

/** Per-bucket counts → cumulative `le` buckets, ending at +Inf with the point's count. */
function cumulative(bounds: number[], counts: number[], count: number): [string, number][] {
  const out: [string, number][] = [];
  let running = 0;
  bounds.forEach((bound, i) => {
    running += counts[i] ?? 0;
    out.push([leText(bound), running]);
  });
  out.push(["+Inf", count]);
  return out;
}

/** The most buckets one exponential histogram point may expand to. */
const MAX_EXPONENTIAL_BUCKETS = 320;

/**
 * An exponential histogram's buckets as classic ones. At scale s a bucket of index i holds
 * (base^i, base^(i+1)] with base = 2^(2^-s): negative buckets from the most negative up, the
 * zero bucket up to zero_threshold, then the positive ones — cumulative, ending at +Inf.
 */
function exponentialBuckets(
  point: ExponentialHistogramDataPoint,
  count: number,
): [string, number][] {
  const scale = point.scale ?? 0;
  if (!Number.isInteger(scale) || scale < -10 || scale > 20)
    throw new PointError(`scale: ${scale} is outside [-10, 20]`);
  const base = 2 ** (2 ** -scale);
  const negative = (point.negative?.bucketCounts ?? []).map(numberOf);
  const positive = (point.positive?.bucketCounts ?? []).map(numberOf);
  if (negative.length + positive.length > MAX_EXPONENTIAL_BUCKETS)
    throw new PointError(
      `${negative.length + positive.length} buckets: more than ${MAX_EXPONENTIAL_BUCKETS}`,
    );
  const out: [string, number][] = [];
  let running = 0;
  const negOffset = point.negative?.offset ?? 0;
  // Negative bucket i covers [-base^(i+1), -base^i): its upper bound is -base^i.
  for (let i = negative.length - 1; i >= 0; i--) {
    running += negative[i]!;
    out.push([leText(-(base ** (negOffset + i))), running]);
  }
  running += numberOf(point.zeroCount);
  out.push([leText(doubleOf(point.zeroThreshold ?? 0)), running]);
  const posOffset = point.positive?.offset ?? 0;
  positive.forEach((n, i) => {
    running += n;
    out.push([leText(base ** (posOffset + i + 1)), running]);
  });
  out.push(["+Inf", count]);
  return out;
}

// Metric samples as InfluxDB line protocol, one point per sample:
//   <metric name>,<label>=<value>,… value=<float> <timestamp>
// The sink writes nanoseconds (a sample's `nanos` kept: two points 1 ns apart stay two points).
// Escaping follows the line-protocol spec as InfluxDB 1.8 parses it (checked against the real
// server in test/integration/sinks): commas and spaces in measurements; commas, equals signs and
// spaces in tag keys, tag values and field keys; a backslash is literal unless it precedes one of
// those. What line protocol cannot carry — a newline, a name ending in a backslash, a non-finite
// value — is refused with the field named, never mangled into another series.
import type { MetricSample } from "../../schemas/types.js";

const MEASUREMENT = /[, ]/g;
const KEY_OR_TAG = /[,= ]/g;
/** Nothing to escape or refuse in a text without these: the common case, checked once. */
const SPECIAL = /[,= \\\n\r]/;

export const escapeMeasurement = (text: string) => text.replace(MEASUREMENT, (c) => `\\${c}`);
export const escapeKey = (text: string) => text.replace(KEY_OR_TAG, (c) => `\\${c}`);

export type LineResult =
  { ok: true; line: string } | { ok: false; reason: string; droppable: boolean };

function unrepresentable(where: string, text: string): string | undefined {
  if (text.includes("\n") || text.includes("\r"))
    return `${where}: line protocol cannot carry a newline`;
  if (text.endsWith("\\")) return `${where}: line protocol cannot carry a trailing backslash`;
  return undefined;
}

/** The sample's timestamp in the request's precision: ns keeps its sub-millisecond nanos. */
function timestampOf(sample: MetricSample, precision: "ms" | "ns"): string {
  const ms = Math.trunc(sample.timestamp);
  if (precision === "ms") return String(ms);
  const nanos = sample.nanos ?? 0;
  if (ms >= 0) return nanos === 0 ? `${ms}000000` : `${ms}${String(nanos).padStart(6, "0")}`;
  return String(BigInt(ms) * 1_000_000n + BigInt(sample.nanos ?? 0));
}

/** Finite floats only: InfluxDB stores no NaN or ±Inf, and Prometheus uses NaN as a marker. */
export function toLine(sample: MetricSample, precision: "ms" | "ns" = "ms"): LineResult {
  if (!Number.isFinite(sample.value)) {
    return {
      ok: false,
      reason: `value: ${sample.value} cannot be stored in InfluxDB`,
      droppable: true,
    };
  }
  if (sample.name === "") return { ok: false, reason: "name: empty metric name", droppable: false };
  const plainName = !SPECIAL.test(sample.name);
  const bad = plainName ? undefined : unrepresentable("name", sample.name);
  if (bad) return { ok: false, reason: bad, droppable: false };
  let line = plainName ? sample.name : escapeMeasurement(sample.name);
  // Sorted tags: the order InfluxDB stores them in, and one series key per label set.
  const keys = Object.keys(sample.labels);
  if (keys.length > 1) keys.sort();
  for (const key of keys) {
    const value = sample.labels[key]!;
    if (value === "") continue; // an empty label is an absent label (Prometheus semantics)
    if (!SPECIAL.test(key) && !SPECIAL.test(value)) {
      line += `,${key}=${value}`;
      continue;
    }
    const problem =
      unrepresentable(`labels.${key}`, key) ?? unrepresentable(`labels.${key}`, value);
    if (problem) return { ok: false, reason: problem, droppable: false };
    line += `,${escapeKey(key)}=${escapeKey(value)}`;
  }
  return { ok: true, line: `${line} value=${sample.value} ${timestampOf(sample, precision)}` };
}

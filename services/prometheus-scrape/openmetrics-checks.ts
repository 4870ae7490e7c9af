// The checks OpenMetrics 1.0 makes beyond the text format's syntax, where a value that passes
// them would be wrong downstream: single spaces between a sample's parts; counters, bucket counts
// and sample counts that are numbers and not negative; `le` and `quantile` labels that are floats
// (quantiles within [0, 1], `+Inf` spelled so); a histogram's buckets rising with `le`, ending in
// `+Inf`, and its `_count` equal to that bucket.
import { ExpositionError } from "./exposition-error.js";

/** The part of a sample line after its name and labels: " value[ timestamp]", spaces single. */
export function checkSpacing(afterLabels: string, line: number): void {
  if (!/^ \S+( \S+)?$/.test(afterLabels))
    throw new ExpositionError(
      line,
      "expected one space before the value (and the timestamp), none after",
    );
}

const COUNTING: Record<string, string[]> = {
  counter: ["_total"],
  histogram: ["_bucket", "_count"],
  gaugehistogram: ["_bucket", "_gcount"],
  summary: ["_count"],
};

const float = (text: string) =>
  /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || /^[-+]?Inf$/.test(text) || text === "NaN";

export function checkSample(
  name: string,
  /** The family's name: `name` without its suffix. */
  base: string,
  labels: Record<string, string>,
  value: number,
  familyType: string | undefined,
  line: number,
): void {
  const counting = COUNTING[familyType ?? ""]?.some((suffix) => name === base + suffix) ?? false;
  if (counting && (Number.isNaN(value) || value < 0))
    throw new ExpositionError(line, `${name}: a count must be a number ≥ 0, got ${value}`);
  if ((name.endsWith("_sum") || name.endsWith("_gsum")) && Number.isNaN(value))
    throw new ExpositionError(line, `${name}: a sum must be a number, got NaN`);
  if (
    (familyType === "histogram" || familyType === "gaugehistogram") &&
    name === `${base}_bucket`
  ) {
    const le = labels.le;
    if (le === undefined || !float(le))
      throw new ExpositionError(
        line,
        `${name}: le must be a float or +Inf, got ${JSON.stringify(le)}`,
      );
  }
  if (familyType === "summary" && name === base) {
    const q = labels.quantile;
    const v = Number(q);
    if (q === undefined || !float(q) || !(v >= 0 && v <= 1))
      throw new ExpositionError(
        line,
        `${name}: quantile must be a float within [0, 1], got ${JSON.stringify(q)}`,
      );
  }
}

interface Sampled {
  name: string;
  labels: Record<string, string>;
  value: number;
  line: number;
}

/** Each histogram series: buckets rising with le and ending in +Inf, _count equal to it. */
export function checkHistograms(
  samples: Sampled[],
  familyOf: (name: string) => { base: string; type: string | undefined },
): void {
  const series = new Map<
    string,
    { name: string; line: number; buckets: [number, number][]; count?: number }
  >();
  for (const s of samples) {
    const { base, type } = familyOf(s.name);
    if (type !== "histogram") continue;
    const { le, ...rest } = s.labels;
    const key = `${base}${JSON.stringify(Object.entries(rest).sort())}`;
    const entry = series.get(key) ?? { name: base, line: s.line, buckets: [] };
    entry.line = s.line;
    series.set(key, entry);
    if (s.name === `${base}_bucket`)
      entry.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
    else if (s.name === `${base}_count`) entry.count = s.value;
  }
  for (const { name, line, buckets, count } of series.values()) {
    if (buckets.length === 0) {
      if (count !== undefined) throw new ExpositionError(line, `${name}: _count without buckets`);
      continue;
    }
    for (let i = 1; i < buckets.length; i++) {
      if (buckets[i]![0] <= buckets[i - 1]![0])
        throw new ExpositionError(line, `${name}: buckets must be in increasing le order`);
      if (buckets[i]![1] < buckets[i - 1]![1])
        throw new ExpositionError(line, `${name}: bucket counts must not decrease as le grows`);
    }
    const last = buckets[buckets.length - 1]!;
    if (last[0] !== Infinity)
      throw new ExpositionError(line, `${name}: the +Inf bucket is missing`);
    if (count !== undefined && count !== last[1])
      throw new ExpositionError(
        line,
        `${name}: _count ${count} differs from the +Inf bucket ${last[1]}`,
      );
  }
}

// OpenMetrics 1.0's rules on the shape of an exposition, beyond each line's syntax: metadata
// (HELP, TYPE, UNIT) written exactly, once per family, before the family's samples; a family's
// samples together, and each series' samples together; timestamps that never go back; exemplars
// only where the type allows them (a counter's _total, a histogram's buckets), at most 128
// characters of labels; stateset and info values; a histogram's _sum and _count together, with
// buckets. Blank lines and other comments are not allowed. Where Prometheus reads what
// OpenMetrics forbids (its own test pages, client_golang's output), Vigil reads it too: each such
// place says so.
import { ExpositionError } from "./exposition-error.js";

const TYPES = new Set([
  "counter",
  "gauge",
  "histogram",
  "gaugehistogram",
  "stateset",
  "info",
  "summary",
  "unknown",
]);

/** The sample names a family of each type writes. */
const NAMES: Record<string, string[]> = {
  counter: ["_total", "_created"],
  histogram: ["_bucket", "_count", "_sum", "_created"],
  gaugehistogram: ["_bucket", "_gcount", "_gsum"],
  summary: ["", "_count", "_sum", "_created"],
  info: ["_info"],
};

interface FamilyState {
  type?: string;
  seen: Set<string>;
  sampled: boolean;
  series?: string;
  doneSeries: Set<string>;
}

interface HistogramSeries {
  family: string;
  type: string;
  line: number;
  buckets: number[];
  sum?: number;
  count?: boolean;
}

const key = (labels: Record<string, string>) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

export class OpenMetricsStructure {
  private readonly families = new Map<string, FamilyState>();
  private readonly left = new Set<string>();
  private current: string | undefined;
  private readonly reserved = new Map<string, string>();
  private readonly timestamps = new Map<string, number | null>();
  private readonly histograms = new Map<string, HistogramSeries>();
  private readonly summaries = new Map<
    string,
    { family: string; line: number; negative: boolean; count: boolean }
  >();

  private family(name: string): FamilyState {
    let state = this.families.get(name);
    if (!state) {
      state = { seen: new Set(), sampled: false, doneSeries: new Set() };
      this.families.set(name, state);
    }
    return state;
  }

  /**
   * `name`'s family. A family with a TYPE that comes back after another family's lines is let
   * through: Prometheus reads such pages (its own tests have one), and its TYPE says what its
   * samples are wherever they stand. A family without one is known only by its samples being
   * together, so it may not come back.
   */
  private enter(name: string, line: number): FamilyState {
    if (this.current !== name) {
      if (this.left.has(name) && this.families.get(name)?.type === undefined)
        throw new ExpositionError(line, `${name}: an untyped family's samples must be together`);
      if (this.current !== undefined) this.left.add(this.current);
      this.current = name;
    }
    return this.family(name);
  }

  blank(line: number): never {
    throw new ExpositionError(line, "blank lines are not allowed in OpenMetrics");
  }

  /** A `#` line other than `# EOF`: metadata written exactly, or refused. */
  metadata(text: string, line: number): void {
    const m = /^# (HELP|TYPE|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*|"(?:[^"\\]|\\.)*")(?: (.*))?$/s.exec(
      text,
    );
    if (!m)
      throw new ExpositionError(
        line,
        `expected "# HELP name text", "# TYPE name type" or "# UNIT name unit", got ${JSON.stringify(text.slice(0, 60))}`,
      );
    const [, kind, given = "", rest] = m as unknown as [string, string, string, string | undefined];
    const name = given.startsWith('"') ? given.slice(1, -1).replace(/\\(.)/g, "$1") : given;
    if (rest === undefined)
      throw new ExpositionError(line, `# ${kind} ${name}: expected a space and its value`);
    const state = this.enter(name, line);
    if (state.sampled)
      throw new ExpositionError(line, `# ${kind} ${name}: metadata must come before its samples`);
    if (state.seen.has(kind!)) throw new ExpositionError(line, `# ${kind} ${name} given twice`);
    state.seen.add(kind!);
    if (kind === "TYPE") {
      if (!TYPES.has(rest))
        throw new ExpositionError(line, `# TYPE ${name}: "${rest}" is not an OpenMetrics type`);
      if (state.seen.has("UNIT") && (rest === "info" || rest === "stateset"))
        throw new ExpositionError(line, `# UNIT ${name}: a ${rest} has no unit`);
      state.type = rest;
      for (const suffix of NAMES[rest] ?? [""]) {
        const sample = name + suffix;
        const other =
          this.reserved.get(sample) ??
          (sample !== name && this.families.has(sample) ? sample : undefined);
        if (other !== undefined && other !== name)
          throw new ExpositionError(line, `# TYPE ${name}: ${sample} clashes with family ${other}`);
        this.reserved.set(sample, name);
      }
    } else if (kind === "UNIT") {
      if (/\s/.test(rest)) throw new ExpositionError(line, `# UNIT ${name}: a unit has no spaces`);
      if (rest !== "" && !name.endsWith(`_${rest}`))
        throw new ExpositionError(line, `# UNIT ${name}: the name must end in _${rest}`);
      if (state.type === "info" || state.type === "stateset")
        throw new ExpositionError(line, `# UNIT ${name}: a ${state.type} has no unit`);
    }
  }

  sample(
    sample: {
      name: string;
      family: string;
      labels: Record<string, string>;
      value: number;
      timestamp: number | undefined;
      exemplar: Record<string, string> | undefined;
    },
    line: number,
  ): void {
    const { name, family, labels, value, timestamp, exemplar } = sample;
    const state = this.enter(family, line);
    state.sampled = true;
    const type = state.type ?? "unknown";
    const { le: _le, quantile: _q, ...rest } = labels;
    const series = key(rest);
    // A histogram's series is read whole (its buckets are checked together); Prometheus reads
    // other types' series interleaved (a summary's quantiles, then its _count), so they pass.
    const whole = type === "histogram" || type === "gaugehistogram";
    if (state.series !== series) {
      if (whole && state.doneSeries.has(series))
        throw new ExpositionError(line, `${name}: a histogram series' samples must be together`);
      if (state.series !== undefined) state.doneSeries.add(state.series);
      state.series = series;
    }
    const point = `${name}${key(labels)}`;
    if (this.timestamps.has(point)) {
      const last = this.timestamps.get(point)!;
      if ((last === null) !== (timestamp === undefined))
        throw new ExpositionError(
          line,
          `${name}: timestamps given for some samples of a series only`,
        );
      if (timestamp !== undefined && last !== null && timestamp < last)
        throw new ExpositionError(line, `${name}: timestamps must not go back`);
    }
    this.timestamps.set(point, timestamp ?? null);

    if (exemplar) {
      // OpenMetrics allows them on a counter's _total and a histogram's buckets; Prometheus also
      // reads them on _count, and on a summary's _sum (its own tests have them), so they pass.
      const allowed =
        type === "unknown" ||
        (type === "counter" && name === `${family}_total`) ||
        ((type === "histogram" || type === "gaugehistogram") &&
          (name === `${family}_bucket` || name === `${family}_count`)) ||
        (type === "summary" && (name === `${family}_count` || name === `${family}_sum`));
      if (!allowed)
        throw new ExpositionError(
          line,
          `${name}: exemplars are for counters' _total, histograms' buckets and _count`,
        );
      const length = [...Object.entries(exemplar).flat().join("")].length;
      if (length > 128)
        throw new ExpositionError(
          line,
          `${name}: exemplar labels are ${length} characters, over 128`,
        );
    }
    if (type === "stateset") {
      // The state's label is the family's name in OpenMetrics; Prometheus reads any one label.
      if (Object.keys(labels).length === 0)
        throw new ExpositionError(line, `${name}: a stateset sample needs its state's label`);
      if (value !== 0 && value !== 1)
        throw new ExpositionError(line, `${name}: a state is 0 or 1, got ${value}`);
    }
    if (type === "info" && value !== 1)
      throw new ExpositionError(line, `${name}: an info sample's value is 1, got ${value}`);
    if (type === "summary") {
      const id = `${family}${series}`;
      const summary = this.summaries.get(id) ?? { family, line, negative: false, count: false };
      if (name === `${family}_count`) summary.count = true;
      else if ((name === family || name === `${family}_sum`) && value < 0) {
        summary.negative = true;
        summary.line = line;
      }
      this.summaries.set(id, summary);
    }
    if (type === "histogram" || type === "gaugehistogram") {
      const id = `${family}${series}`;
      const h = this.histograms.get(id) ?? { family, type, line, buckets: [] };
      h.line = line;
      this.histograms.set(id, h);
      const g = type === "gaugehistogram" ? "g" : "";
      if (name === `${family}_bucket`)
        h.buckets.push(labels.le === "+Inf" ? Infinity : Number(labels.le));
      else if (name === `${family}_${g}sum`) h.sum = value;
      else if (name === `${family}_${g}count`) h.count = true;
    }
  }

  /** What can be judged only once a series is complete: a histogram's parts. */
  end(): void {
    // OpenMetrics forbids negative quantiles and sums; client libraries write them for negative
    // observations (Prometheus's own test page alltypes.5mfs has one) and Prometheus reads them.
    // So they pass in a summary with its _count, and a lone negative value is refused.
    for (const s of this.summaries.values())
      if (s.negative && !s.count)
        throw new ExpositionError(
          s.line,
          `${s.family}: a negative value in a summary without _count`,
        );
    for (const h of this.histograms.values()) {
      const g = h.type === "gaugehistogram" ? "g" : "";
      if (!h.buckets.includes(Infinity))
        throw new ExpositionError(h.line, `${h.family}: a ${h.type} needs its +Inf bucket`);
      // A _sum needs its _count (an average needs both); a histogram's _count alone Prometheus
      // reads (its own tests have one), so it passes; a gauge histogram's two go together.
      const unpaired =
        h.type === "histogram"
          ? h.sum !== undefined && !h.count
          : (h.sum !== undefined) !== (h.count ?? false);
      if (unpaired)
        throw new ExpositionError(h.line, `${h.family}: _${g}sum and _${g}count go together`);
      const negative = h.buckets.some((le) => le < 0);
      if (h.sum !== undefined && h.sum < 0 && !negative)
        throw new ExpositionError(
          h.line,
          `${h.family}: _${g}sum is negative with no negative bucket`,
        );
      // OpenMetrics says a histogram with negative buckets has no _sum; client_golang writes one
      // (Prometheus's test page alltypes.5mfs) and Prometheus reads it, so it passes beside its
      // _count (a _sum alone is refused above).
    }
  }
}

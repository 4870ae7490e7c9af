// A parser for what Prometheus exporters serve: the Prometheus text format (0.0.4) and
// OpenMetrics 1.0. HELP/TYPE/UNIT metadata, label escaping, NaN/±Inf, explicit timestamps (ms in
// the text format, seconds in OpenMetrics), exemplars (skipped), `_created` series (kept as the
// series' start time), `# EOF`. Errors name the line and the problem.
import { ExpositionError } from "./exposition-error.js";
import { checkHistograms, checkSample, checkSpacing } from "./openmetrics-checks.js";
import { OpenMetricsStructure } from "./openmetrics-structure.js";
import type { MetricType } from "../../schemas/types.js";

export type Format = "prometheus" | "openmetrics";

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the exposition gave one. */
  timestamp?: number;
  type: MetricType;
  unit: string;
  /** From the family's `_created` series (OpenMetrics), in ms. */
  created?: number;
}

export { ExpositionError };

interface Family {
  type: string;
  unit: string;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const NAME_ONLY = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SUFFIXES = ["_bucket", "_count", "_sum", "_total", "_created", "_gsum", "_gcount", "_info"];

function parseValue(text: string, line: number): number {
  // As Prometheus reads them (Go's ParseFloat): NaN and Inf in any case — prom-client itself
  // prints "Nan" for an event-loop statistic with no data yet.
  switch (text.toLowerCase()) {
    case "nan":
      return Number.NaN;
    case "+inf":
    case "inf":
    case "+infinity":
    case "infinity":
      return Number.POSITIVE_INFINITY;
    case "-inf":
    case "-infinity":
      return Number.NEGATIVE_INFINITY;
  }
  const value = Number(text);
  // JavaScript reads 0x1, 0b1 and 0o1 as numbers; Go's ParseFloat, and so Prometheus, does not.
  if (text === "" || Number.isNaN(value) || /^[-+]?0[xXbBoO]/.test(text))
    throw new ExpositionError(line, `"${text}" is not a number`);
  return value;
}

/** Reads a double-quoted string starting at `at` (its opening quote); returns it and the index after. */
function readQuoted(text: string, at: number, line: number, what: string): [string, number] {
  let value = "";
  let i = at + 1;
  for (;;) {
    const c = text[i];
    if (c === undefined) throw new ExpositionError(line, `unterminated ${what}`);
    if (c === '"') return [value, i + 1];
    if (c === "\\") {
      const next = text[i + 1];
      value += next === "n" ? "\n" : next === '"' ? '"' : next === "\\" ? "\\" : `\\${next ?? ""}`;
      i += 2;
    } else {
      value += c;
      i += 1;
    }
  }
}

/**
 * Reads `{a="x",b="y"}` starting at `at`; returns the labels, the index after `}` and — Prometheus
 * 3's UTF-8 syntax, `{"go.gc_duration_seconds",quantile="0"}` — a quoted metric name inside. Names
 * may be quoted; spaces may surround `=` and `,`; the text format (not OpenMetrics) also takes a
 * missing comma, as Prometheus does.
 */
function parseLabels(
  text: string,
  at: number,
  line: number,
  format: Format,
): [Record<string, string>, number, string | undefined] {
  const labels: Record<string, string> = {};
  let metric: string | undefined;
  let i = at + 1;
  const spaces = () => {
    while (text[i] === " " || text[i] === "\t") i++;
  };
  for (;;) {
    spaces();
    if (text[i] === "}") return [labels, i + 1, metric];
    let name: string;
    if (text[i] === '"') {
      [name, i] = readQuoted(text, i, line, "quoted name");
      spaces();
      if (text[i] !== "=") {
        // A quoted string alone is the metric name (once).
        if (metric !== undefined)
          throw new ExpositionError(line, `expected = after label "${name}"`);
        metric = name;
        if (text[i] === ",") i++;
        else if (text[i] !== "}")
          throw new ExpositionError(line, `expected , or } after metric name "${name}"`);
        continue;
      }
    } else {
      const found = LABEL_NAME.exec(text.slice(i))?.[0];
      if (!found) throw new ExpositionError(line, `expected a label name at column ${i + 1}`);
      name = found;
      i += name.length;
      spaces();
    }
    if (text[i] !== "=") throw new ExpositionError(line, `expected ="…" after label ${name}`);
    i++;
    spaces();
    if (text[i] !== '"') throw new ExpositionError(line, `expected ="…" after label ${name}`);
    let value: string;
    [value, i] = readQuoted(text, i, line, `value of label ${name}`);
    if (name in labels) throw new ExpositionError(line, `label ${name} given twice`);
    labels[name] = value;
    spaces();
    if (text[i] === ",") {
      i++;
      if (format === "openmetrics" && text[i] === "}")
        throw new ExpositionError(line, `a comma after the last label is not allowed`);
    } else if (text[i] !== "}" && !(format === "prometheus" && text[i] !== undefined))
      throw new ExpositionError(line, `expected , or } after label ${name}`);
  }
}

/** An OpenMetrics exemplar: `{labels} value[ timestamp]`, its labels; throws saying what is wrong. */
function checkExemplar(text: string, line: number): Record<string, string> {
  if (!text.startsWith("{")) throw new ExpositionError(line, "exemplar: expected {labels} after #");
  const [labels, end] = parseLabels(text, 0, line, "openmetrics");
  const tail = text.slice(end);
  if (!/^ \S+( \S+)?$/.test(tail))
    throw new ExpositionError(
      line,
      "exemplar: expected one space, a value and maybe a timestamp after its labels, nothing more",
    );
  const parts = tail.slice(1).split(" ");
  parseValue(parts[0]!, line);
  if (parts[1] !== undefined && !Number.isFinite(Number(parts[1])))
    throw new ExpositionError(line, `exemplar: "${parts[1]}" is not a timestamp`);
  return labels;
}

function familyOf(name: string, families: Map<string, Family>): [string, Family | undefined] {
  if (families.has(name)) return [name, families.get(name)];
  for (const suffix of SUFFIXES) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (families.has(base)) return [base, families.get(base)];
    }
  }
  return [name, undefined];
}

function sampleType(
  name: string,
  labels: Record<string, string>,
  family: Family | undefined,
): MetricType {
  switch (family?.type) {
    case "counter":
      return "counter";
    case "gauge":
      return "gauge";
    case "histogram":
    case "gaugehistogram":
      return name.endsWith("_bucket")
        ? "histogram_bucket"
        : name.endsWith("_count") || name.endsWith("_sum")
          ? "counter"
          : "unknown";
    case "summary":
      return "quantile" in labels && !name.endsWith("_sum") && !name.endsWith("_count")
        ? "summary_quantile"
        : "counter";
    default:
      return "unknown";
  }
}

const seriesKey = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",")}}`;

export function parseExposition(text: string, format: Format = "prometheus"): ParsedSample[] {
  const families = new Map<string, Family>();
  const samples: ParsedSample[] = [];
  const created = new Map<string, number>();
  const sampleLines: number[] = [];
  // A family's `_created` is its series' start only within the same run of the family's lines
  // (as Prometheus reads it): the run each sample is in.
  const sampleRuns: number[] = [];
  let run = 0;
  let lastBase: string | undefined;
  const lines = text.split("\n");
  const structure = format === "openmetrics" ? new OpenMetricsStructure() : undefined;
  let ended = false;
  lines.forEach((raw, index) => {
    const line = index + 1;
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (ended && (text.trim() !== "" || index < lines.length - 1))
      throw new ExpositionError(line, "content after # EOF");
    if (text.trim() === "") {
      if (structure && !ended && index < lines.length - 1) structure.blank(line);
      return;
    }
    if (text.startsWith("#")) {
      if (structure && text !== "# EOF") structure.metadata(text, line);
      const meta = /^#\s+(HELP|TYPE|UNIT)\s+("(?:[^"\\]|\\.)*"|\S+)(?:\s+(.*))?$/.exec(text);
      if (text.trim() === "# EOF" && format === "openmetrics") ended = true;
      else if (meta) {
        const [, kind, given, rest = ""] = meta;
        const name = given!.startsWith('"')
          ? readQuoted(given!, 0, line, "metric name")[0]
          : given!;
        if (!given!.startsWith('"') && !NAME_ONLY.test(name))
          throw new ExpositionError(line, `expected a metric name after ${kind}, got "${name}"`);
        const family = families.get(name!) ?? { type: "untyped", unit: "" };
        if (kind === "TYPE") {
          if (
            !/^(counter|gauge|histogram|summary|untyped|unknown|info|stateset|gaugehistogram)$/.test(
              rest.trim(),
            )
          ) {
            throw new ExpositionError(line, `unknown metric type "${rest.trim()}" for ${name}`);
          }
          family.type = rest.trim();
        } else if (kind === "UNIT") family.unit = rest.trim();
        families.set(name!, family);
      }
      return;
    }
    const bare = NAME.exec(text)?.[0];
    let i = bare?.length ?? 0;
    let j = i;
    while (text[j] === " " || text[j] === "\t") j++;
    if (text[j] === "{") i = j;
    let labels: Record<string, string> = {};
    let quoted: string | undefined;
    if (text[i] === "{") [labels, i, quoted] = parseLabels(text, i, line, format);
    if (bare && quoted !== undefined)
      throw new ExpositionError(line, `metric ${bare} also named "${quoted}" inside its braces`);
    const name = bare ?? quoted;
    if (!name)
      throw new ExpositionError(line, `expected a metric name, got "${text.slice(0, 40)}"`);
    const after = text.slice(i);
    const hash = after.indexOf(" # ");
    const series = hash === -1 ? after : after.slice(0, hash);
    const exemplar = hash === -1 ? undefined : after.slice(hash + 3);
    const exemplarLabels =
      exemplar !== undefined && format === "openmetrics"
        ? checkExemplar(exemplar, line)
        : undefined;
    if (format === "openmetrics") checkSpacing(series, line);
    const rest = series.trim().split(/\s+/); // an exemplar is checked, then left out
    if (rest.length < 1 || rest.length > 2 || rest[0] === "")
      throw new ExpositionError(line, `expected "value [timestamp]" after ${name}`);
    const value = parseValue(rest[0]!, line);
    let timestamp: number | undefined;
    if (rest[1] !== undefined) {
      const ts = Number(rest[1]);
      if (!Number.isFinite(ts)) throw new ExpositionError(line, `"${rest[1]}" is not a timestamp`);
      timestamp = format === "openmetrics" ? Math.round(ts * 1000) : Math.trunc(ts);
    }
    const [base, family] = familyOf(name, families);
    if (base !== lastBase) {
      run += 1;
      lastBase = base;
    }
    if (format === "openmetrics") checkSample(name, base, labels, value, family?.type, line);
    structure?.sample(
      { name, family: base, labels, value, timestamp, exemplar: exemplarLabels },
      line,
    );
    if (name.endsWith("_created") && family && name !== base) {
      created.set(`${run}|${seriesKey(base, labels)}`, Math.round(value * 1000));
      return;
    }
    sampleLines.push(line);
    sampleRuns.push(run);
    samples.push({
      name,
      labels,
      value,
      ...(timestamp !== undefined && { timestamp }),
      type: sampleType(name, labels, family),
      unit: family?.unit ?? "",
    });
  });
  if (format === "openmetrics" && !ended)
    throw new ExpositionError(lines.length, "OpenMetrics exposition does not end with # EOF");
  structure?.end();
  if (format === "openmetrics")
    checkHistograms(
      samples.map((s, k) => ({ ...s, line: sampleLines[k]! })),
      (name) => {
        const [base, family] = familyOf(name, families);
        return { base, type: family?.type };
      },
    );
  if (created.size > 0) {
    samples.forEach((sample, k) => {
      const [base, family] = familyOf(sample.name, families);
      // le and quantile are the bucket's and the quantile's, not the series': for those types only.
      const { le: _le, quantile: _q, ...stripped } = sample.labels;
      const seriesLabels =
        family?.type === "histogram" || family?.type === "summary" ? stripped : sample.labels;
      const at = `${sampleRuns[k]!}|`;
      const start =
        created.get(at + seriesKey(base, sample.labels)) ??
        created.get(at + seriesKey(base, seriesLabels));
      if (start !== undefined) sample.created = start;
    });
  }
  return samples;
}

// What an alerting rule is, as SREs write it in YAML:
//
//   rules:
//     - name: HostHighCpu
//       select: cpu_used_percent{cpu="all"}
//       when: "> 90"            # or anomaly: { detector: ewma, threshold: 4 }
//       for: 5m                  # the condition must hold this long (event time) before firing
//       consecutive: 3           # …and for this many samples in a row (repeat suppression)
//       recover: "< 80"          # hysteresis: once firing, resolves only when this holds
//       keepFiringFor: 2m        # …and stays firing this long after the condition clears
//       severity: major
//       labels: { team: infra }
//       annotations:
//         summary: "CPU on {{ $labels.host }} at {{ $value | printf \"%.0f\" }}%"
//         runbook: https://runbooks.example/host-high-cpu
//
// A condition applies to the series as it comes (a raw series, or an aggregate such as a p99 the
// window-aggregate processor made), or to `reduce` over a sliding window of it, or to the `ratio`
// of two sums of counter increases (success rate), or to the log events a `logs` selection matches,
// counted per group over a window — ElastAlert's frequency (`when: ">= 5"`), flatline
// (`when: "< 1"`) and spike (`measure: spike`: this window's count over the one before):
//
//     - name: GpuXidFallenOffBus
//       logs:
//         match: { service: kernel, attributes: { xid: "79" } }   # also severity, message
//         by: [host, gpu, slurm_job, xid_action]   # event fields or attributes; the alert's labels
//         over: 10m
//       when: ">= 1"
//
// Everything is compiled here; errors name the rule and the key.
import { z } from "zod";
import { duration } from "../../chassis/config.js";
import { labelRegex, LabelRegexError, type LabelRegex } from "../../chassis/label-regex.js";
import { DETECTORS } from "../anomaly/registry.js";
import { parseSelector, SelectorError, type Selector } from "./selector.js";
import { compileTemplate, TemplateError, type Template } from "./template.js";

const OPS = {
  ">": (a: number, b: number) => a > b,
  ">=": (a: number, b: number) => a >= b,
  "<": (a: number, b: number) => a < b,
  "<=": (a: number, b: number) => a <= b,
  "==": (a: number, b: number) => a === b,
  "!=": (a: number, b: number) => a !== b,
} as const;

export interface Condition {
  text: string;
  threshold: number;
  test(value: number): boolean;
}

const condition = z.string().transform((text, ctx): Condition => {
  const m = /^\s*(>=|<=|==|!=|>|<)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*$/i.exec(text);
  if (!m) {
    ctx.addIssue({
      code: "custom",
      message: `expected a comparison like "> 90" or "<= 0.99", got ${JSON.stringify(text)}`,
    });
    return z.NEVER;
  }
  const compare = OPS[m[1] as keyof typeof OPS];
  const threshold = Number(m[2]);
  return { text: text.trim(), threshold, test: (value) => compare(value, threshold) };
});

const selector = z.string().transform((text, ctx): Selector => {
  try {
    const parsed = parseSelector(text);
    if (parsed.matchers.length === 0)
      throw new SelectorError(
        `selector ${JSON.stringify(text)} selects every series: name a metric or a label`,
      );
    return parsed;
  } catch (error) {
    if (!(error instanceof SelectorError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message });
    return z.NEVER;
  }
});

const template = z.string().transform((text, ctx): Template => {
  try {
    return compileTemplate(text);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message });
    return z.NEVER;
  }
});

/** A user's regex, run on RE2 (linear time); whole-value unless `search`. */
const regex = (search: boolean) =>
  z.string().transform((source, ctx): LabelRegex => {
    try {
      return labelRegex(search ? `.*(?:${source}).*` : source);
    } catch (error) {
      if (!(error instanceof LabelRegexError)) throw error;
      ctx.addIssue({ code: "custom", message: `not a valid RE2 regex: ${error.message}` });
      return z.NEVER;
    }
  });

export const LOG_SEVERITIES = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

const logs = z.strictObject({
  match: z.strictObject({
    /** The event's service, a regex matching the whole name. */
    service: regex(false).optional(),
    /** Events of this severity or worse. */
    severity: z.enum(LOG_SEVERITIES).optional(),
    /** A regex found anywhere in the message. */
    message: regex(true).optional(),
    /** Attribute → regex matching its whole value; the attribute must be present. */
    attributes: z.record(z.string(), regex(false)).default({}),
  }),
  /** The event fields (host, service, severity) or attributes that make a group: the alert's labels. */
  by: z.array(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)).default(["host"]),
  over: duration,
  /** count: events in the window; spike: events in the window over those in the one before. */
  measure: z.enum(["count", "spike"]).default("count"),
  /** spike: windows with fewer events than this (both of them) are not judged. */
  minCount: z.number().int().min(0).default(5),
});

export const REDUCERS = [
  "avg",
  "min",
  "max",
  "sum",
  "count",
  "last",
  "delta",
  "increase",
  "rate",
  "p50",
  "p90",
  "p95",
  "p99",
] as const;
export type Reducer = (typeof REDUCERS)[number];

const anomaly = z
  .looseObject({
    detector: z.enum(Object.keys(DETECTORS) as [string, ...string[]]),
    /** How unusual (in the detector's z-score) a sample must be. */
    threshold: z.number().positive().default(3),
    /** Samples of history needed before the detector may call anything anomalous. */
    warmup: z.number().int().min(0).default(30),
    /** Deviations from the expected value smaller than this are never anomalous (absolute units). */
    minDeviation: z.number().min(0).default(0),
    direction: z.enum(["up", "down", "both"]).default("both"),
  })
  .transform((given, ctx) => {
    const { detector, threshold, warmup, minDeviation, direction, ...options } = given;
    const spec = DETECTORS[detector]!;
    const parsed = spec.config.safeParse(options);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.addIssue({
          code: "custom",
          path: issue.path as PropertyKey[],
          message:
            issue.code === "unrecognized_keys"
              ? `unknown key(s) for detector ${detector}: ${issue.keys.join(", ")}`
              : issue.message,
        });
      return z.NEVER;
    }
    return { detector, threshold, warmup, minDeviation, direction, options: parsed.data };
  });

const noData = z.strictObject({
  /** Processing time without a sample after which the series counts as silent. */
  after: duration.default(300_000),
  /**
   * resolve: a firing alert resolves and the series is forgotten; absent: a firing alert resolves
   * and an "absent" alert fires for the series until data comes back; keep: nothing changes.
   */
  action: z.enum(["resolve", "absent", "keep"]).default("resolve"),
  /** An absent or kept series is forgotten (its alert resolved) after this long. */
  forgetAfter: duration.default(86_400_000),
});

const flapping = z.strictObject({
  /** Firing/resolved transitions within `window` that make an alert flapping. */
  transitions: z.number().int().min(2).default(6),
  window: duration.default(1_800_000),
  /** A flapping alert is held firing until its condition has been clear this long. */
  hold: duration.default(900_000),
});

export const ruleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected letters, digits and underscores (an alertname)"),
    select: selector.optional(),
    ratio: z
      .strictObject({
        numerator: selector,
        denominator: selector,
        /** Labels that define a group; the ratio is of the sums over each group's series. */
        by: z.array(z.string()).default([]),
        over: duration,
      })
      .optional(),
    logs: logs.optional(),
    reduce: z.strictObject({ fn: z.enum(REDUCERS), over: duration }).optional(),
    when: condition.optional(),
    anomaly: anomaly.optional(),
    for: duration.default(0),
    consecutive: z.number().int().min(1).default(1),
    recover: condition.optional(),
    keepFiringFor: duration.default(0),
    severity: z.enum(["critical", "major", "minor"]),
    labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), template).default({}),
    annotations: z.strictObject({
      summary: template,
      description: template.optional(),
      /** A URL; a template may pick it by label ("…/xid#{{ $labels.xid_action }}"). */
      runbook: z
        .string()
        .refine((text) => text.includes("{{") || URL.canParse(text), "expected a URL")
        .pipe(template)
        .optional(),
    }),
    noData: noData.default({ after: 300_000, action: "resolve", forgetAfter: 86_400_000 }),
    flapping: flapping.default({ transitions: 6, window: 1_800_000, hold: 900_000 }),
  })
  .superRefine((rule, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if ([rule.select, rule.ratio, rule.logs].filter(Boolean).length !== 1)
      issue("select", "give exactly one of select, ratio and logs");
    if (rule.logs && (rule.reduce || rule.anomaly))
      issue("logs", "a log rule counts events over its window: no reduce or anomaly");
    if (rule.logs && !rule.when) issue("when", 'a log rule needs when (">= 5", "< 1")');
    if (rule.ratio && rule.reduce) issue("reduce", "a ratio is already over a window");
    if (rule.when && rule.anomaly) issue("anomaly", "give either when or anomaly, not both");
    if (!rule.when && !rule.anomaly && rule.noData.action !== "absent")
      issue("when", 'give when (a threshold) or anomaly, or noData.action "absent"');
    if (rule.recover && !rule.when) issue("recover", "a recovery threshold needs when");
    if (rule.when && rule.recover && overlap(rule.when, rule.recover) !== undefined)
      issue(
        "recover",
        `${overlap(rule.when, rule.recover)} both fires (${rule.when.text}) and recovers (${rule.recover.text})`,
      );
  });

/** A value satisfying both conditions, if the probes find one: such hysteresis contradicts itself. */
function overlap(a: Condition, b: Condition): number | undefined {
  const probes = [a.threshold, b.threshold, (a.threshold + b.threshold) / 2].flatMap((t) => {
    const d = Math.max(Math.abs(t) * 1e-9, 1e-9);
    return [t - d, t, t + d];
  });
  return probes.find((v) => a.test(v) && b.test(v));
}

export type Rule = z.output<typeof ruleSchema>;

export const ruleFileSchema = z.strictObject({ rules: z.array(ruleSchema) });

// Rule unit tests, in the spirit of `promtool test rules`: series given over time in promtool's
// expanding notation, the alerts expected to be firing at given times, and optionally every alert
// event expected over the whole run (re-sends aside), in order.
//
//   rule_files: [builtin.rules.yaml]          # relative to this file
//   tests:
//     - name: CPU above 90% for five minutes pages as major
//       interval: 1m
//       input_series:
//         - series: cpu_used_percent{host="a",cpu="all"}
//           values: "50 95x6 50x3"            # a+bxn: n+1 values from a, step b; _ = no sample
//       alert_rule_test:
//         - eval_time: 6m
//           alertname: HostHighCpu
//           exp_alerts:
//             - exp_labels: { host: a, cpu: all, severity: major }
//               exp_annotations: { summary: "CPU on a at 95%" }
//       exp_events:
//         - { at: 6m, alertname: HostHighCpu, status: firing }
//
// Log rules get `input_logs`: events at given times (Vigil's addition to promtool's format):
//       input_logs:
//         - { at: 2m, host: n1, service: kernel, severity: error,
//             message: "NVRM: Xid (PCI:0000:3b:00): 79, …", attributes: { xid: "79" } }
//
// Samples arrive at their timestamps; the engine is also given time at every interval, so no-data
// and `for` behave as they would live. exp_labels must equal the alert's labels (alertname aside).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { z } from "zod";
import type { Alert, LogEvent, MetricSample } from "../../../schemas/types.js";
import { duration } from "../../chassis/config.js";
import { DetectionEngine } from "../engine.js";
import { loadRuleFiles, RuleError } from "./load.js";
import { parseSelector } from "./selector.js";

const labels = z.record(z.string(), z.string());

const testFileSchema = z.strictObject({
  rule_files: z.array(z.string()).min(1),
  tests: z.array(
    z.strictObject({
      name: z.string().min(1),
      interval: duration.default(60_000),
      /** Event time of the first value (ms since the epoch). */
      start: z
        .number()
        .int()
        .default(Date.UTC(2026, 0, 1)),
      input_series: z.array(z.strictObject({ series: z.string(), values: z.string() })).default([]),
      input_logs: z
        .array(
          z.strictObject({
            at: duration,
            /** The same event this many times. */
            times: z.number().int().min(1).default(1),
            host: z.string().default("host"),
            service: z.string().default("app"),
            severity: z
              .enum(["unknown", "trace", "debug", "info", "warn", "error", "fatal"])
              .default("info"),
            message: z.string(),
            attributes: labels.default({}),
          }),
        )
        .default([]),
      alert_rule_test: z
        .array(
          z.strictObject({
            eval_time: duration,
            alertname: z.string(),
            exp_alerts: z
              .array(
                z.strictObject({
                  exp_labels: labels.default({}),
                  exp_annotations: labels.default({}),
                }),
              )
              .default([]),
          }),
        )
        .default([]),
      exp_events: z
        .array(
          z.strictObject({
            at: duration,
            alertname: z.string(),
            status: z.enum(["firing", "resolved"]),
            labels: labels.optional(),
            flapping: z.boolean().optional(),
          }),
        )
        .optional(),
    }),
  ),
});

export interface TestOutcome {
  name: string;
  failures: string[];
}

/** Expands promtool's notation: "1+2x3 _ 5x1" → [1, 3, 5, 7, undefined, 5, 5]. */
export function expandValues(text: string): (number | undefined)[] {
  return text
    .trim()
    .split(/\s+/)
    .flatMap((token) => {
      const m = /^(_|[-+]?[\d.]+(?:e[-+]?\d+)?)(?:([-+][\d.]+(?:e[-+]?\d+)?)?x(\d+))?$/i.exec(
        token,
      );
      if (!m) throw new RuleError(`values: cannot read ${JSON.stringify(token)}`);
      const [, first, step, times] = m;
      if (first === "_") return Array.from({ length: times ? Number(times) : 1 }, () => undefined);
      if (times === undefined) return [Number(first)];
      return Array.from(
        { length: Number(times) + 1 },
        (_, i) => Number(first) + i * Number(step ?? 0),
      );
    });
}

export function runRuleTests(file: string): TestOutcome[] {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new RuleError(`${file}: ${(error as Error).message}`);
  }
  const parsed = testFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new RuleError(
      parsed.error.issues.map((i) => `${file}: ${i.path.join(".")}: ${i.message}`).join("\n"),
    );
  const rules = loadRuleFiles(parsed.data.rule_files.map((f) => resolve(dirname(file), f)));
  return parsed.data.tests.map((test) => {
    const failures: string[] = [];
    const engine = new DetectionEngine(rules, { resendEvery: Infinity, maxTracks: 1_000_000 });
    const at = (offset: number) => test.start + offset;
    const byTime = new Map<number, MetricSample[]>();
    test.input_series.forEach(({ series, values }) => {
      const selector = parseSelector(series);
      const name = selector.metric;
      if (!name || selector.matchers.some((m) => m.op !== "="))
        throw new RuleError(`${test.name}: series ${series}: give a metric name and = labels`);
      const labelSet = Object.fromEntries(
        selector.matchers.filter((m) => m.label !== "__name__").map((m) => [m.label, m.value]),
      );
      expandValues(values).forEach((value, i) => {
        if (value === undefined) return;
        const t = at(i * test.interval);
        const sample: MetricSample = {
          name,
          value,
          timestamp: t,
          labels: labelSet,
          type: "gauge",
          unit: "",
          startTimestamp: null,
        };
        byTime.set(t, [...(byTime.get(t) ?? []), sample]);
      });
    });
    const logsAt = new Map<number, LogEvent[]>();
    for (const { at: offset, times, ...fields } of test.input_logs) {
      const t = at(offset);
      const event: LogEvent = { ...fields, timestamp: t, traceId: null, spanId: null };
      logsAt.set(t, [...(logsAt.get(t) ?? []), ...Array.from({ length: times }, () => event)]);
    }
    if (byTime.size === 0 && logsAt.size === 0)
      throw new RuleError(`${test.name}: give input_series or input_logs`);
    const checks = test.alert_rule_test.map((c) => ({ ...c, time: at(c.eval_time) }));
    const last = Math.max(
      ...byTime.keys(),
      ...logsAt.keys(),
      ...checks.map((c) => c.time),
      ...(test.exp_events ?? []).map((e) => at(e.at)),
    );
    const times = new Set<number>([
      ...byTime.keys(),
      ...logsAt.keys(),
      ...checks.map((c) => c.time),
    ]);
    for (let t = test.start; t <= last; t += test.interval) times.add(t);
    const events: Alert[] = [];
    for (const t of [...times].sort((a, b) => a - b)) {
      events.push(
        ...engine.observe(byTime.get(t) ?? [], t),
        ...engine.observeLogs(logsAt.get(t) ?? [], t),
        ...engine.tick(t),
      );
      for (const check of checks.filter((c) => c.time === t))
        failures.push(...compareFiring(check, engine.firing(t)));
    }
    if (test.exp_events) failures.push(...compareEvents(test.exp_events, events, test.start));
    return { name: test.name, failures };
  });
}

function compareFiring(
  check: {
    eval_time: number;
    alertname: string;
    exp_alerts: { exp_labels: Record<string, string>; exp_annotations: Record<string, string> }[];
  },
  firing: Alert[],
): string[] {
  const got = firing.filter((a) => a.rule === check.alertname);
  const where = `at ${check.eval_time / 1000}s, ${check.alertname}`;
  const failures: string[] = [];
  const unmatched = [...got];
  for (const expected of check.exp_alerts) {
    const index = unmatched.findIndex((alert) => {
      const { alertname: _, ...labelsOf } = alert.labels;
      return isDeepStrictEqual(labelsOf, expected.exp_labels);
    });
    if (index < 0) {
      failures.push(
        `${where}: expected a firing alert with labels ${JSON.stringify(expected.exp_labels)}`,
      );
      continue;
    }
    const alert = unmatched.splice(index, 1)[0]!;
    const annotations: Record<string, string | null> = { ...alert.annotations };
    for (const [key, value] of Object.entries(expected.exp_annotations))
      if (annotations[key] !== value)
        failures.push(
          `${where}: annotation ${key}: expected ${JSON.stringify(value)}, got ${JSON.stringify(annotations[key])}`,
        );
  }
  for (const alert of unmatched)
    failures.push(`${where}: unexpected firing alert with labels ${JSON.stringify(alert.labels)}`);
  return failures;
}

function compareEvents(
  expected: {
    at: number;
    alertname: string;
    status: string;
    labels?: Record<string, string>;
    flapping?: boolean;
  }[],
  events: Alert[],
  start: number,
): string[] {
  const describe = (e: { at: number; alertname: string; status: string }) =>
    `${e.alertname} ${e.status} at ${e.at / 1000}s`;
  const got = events
    .filter((e) => !e.resend)
    .map((e) => ({
      at: e.sentAt - start,
      alertname: e.rule,
      status: e.status,
      labels: e.labels,
      flapping: e.flapping,
    }));
  const mismatch =
    expected.length !== got.length ||
    expected.some((e, i) => {
      const g = got[i]!;
      return (
        e.at !== g.at ||
        e.alertname !== g.alertname ||
        e.status !== g.status ||
        (e.flapping !== undefined && e.flapping !== g.flapping) ||
        (e.labels !== undefined && Object.entries(e.labels).some(([k, v]) => g.labels[k] !== v))
      );
    });
  if (!mismatch) return [];
  return [
    `events: expected [${expected.map(describe).join("; ")}], got [${got.map(describe).join("; ")}]`,
  ];
}

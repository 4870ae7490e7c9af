// The processor test kit: a pipeline test written as data. A `<processor>.fixtures.yaml` next to
// the processor gives its configuration and cases — input samples, expected output, expected
// rejections and counted drops — and test/unit/pipelines/fixtures.test.ts runs every such file.
// Samples are written short: name, value, labels; timestamp (ISO or ms) defaults to `now`, type to
// gauge. A case may be several steps over time (`at`) for processors that keep state.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { MetricSample } from "../schemas/types.js";
import type { OutboundRecord } from "../services/chassis/producer.js";
import { TaskStores } from "../services/chassis/state-store.js";
import { buildChain, runChain } from "./chain.js";

const time = z.union([z.number(), z.string().transform((s) => Date.parse(s))]);
const shortSample = z.strictObject({
  name: z.string(),
  value: z.union([z.number(), z.nan(), z.literal(Infinity), z.literal(-Infinity)]),
  timestamp: time.optional(),
  labels: z.record(z.string(), z.string()).default({}),
  type: z
    .enum(["unknown", "gauge", "counter", "histogram_bucket", "summary_quantile"])
    .default("gauge"),
  unit: z.string().default(""),
});
const step = z.strictObject({
  at: time.optional(),
  input: z.array(shortSample).default([]),
  output: z.array(shortSample).default([]),
  rejected: z.array(z.strictObject({ name: z.string(), reason: z.string() })).default([]),
  late: z.array(shortSample).default([]),
  counts: z.record(z.string(), z.number()).default({}),
});
const fixtureFile = z.strictObject({
  processor: z.string(),
  config: z.unknown().default({}),
  now: time,
  cases: z.array(
    z.union([
      z.strictObject({ name: z.string(), steps: z.array(step).min(1) }),
      step.extend({ name: z.string() }).transform(({ name, ...only }) => ({ name, steps: [only] })),
    ]),
  ),
});

export type Fixture = z.infer<typeof fixtureFile> & { file: string };

const processorsDir = join(dirname(fileURLToPath(import.meta.url)), "processors");

export function loadFixtures(): Fixture[] {
  return readdirSync(processorsDir)
    .filter((f) => f.endsWith(".fixtures.yaml"))
    .sort()
    .map((f) => {
      const parsed = fixtureFile.safeParse(parseYaml(readFileSync(join(processorsDir, f), "utf8")));
      if (!parsed.success)
        throw new Error(
          `${f}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
        );
      return { ...parsed.data, file: f };
    });
}

function full(sample: z.infer<typeof shortSample>, now: number): MetricSample {
  return { ...sample, timestamp: sample.timestamp ?? now, startTimestamp: null };
}

export interface StepOutcome {
  expected: {
    output: MetricSample[];
    rejected: { name: string; reason: string }[];
    counts: Record<string, number>;
  };
  actual: {
    output: MetricSample[];
    rejected: { name: string; reason: string }[];
    counts: Record<string, number>;
  };
}

/**
 * Runs one case on a fresh processor instance; returns expected and actual per step. After each
 * step the keys it changed are written to a changelog, as a pipeline commit does. With
 * `restartBefore`, a new instance is built over the state read back from that changelog, and runs
 * the rest: an operator must not notice (one that changes a value in place without setting it
 * again would).
 */
export function runCase(fixture: Fixture, name: string, restartBefore?: number): StepOutcome[] {
  const testCase = fixture.cases.find((c) => c.name === name)!;
  const build = (stores: TaskStores) =>
    buildChain([{ name: fixture.processor, config: fixture.config }], fixture.file, stores);
  let stores = new TaskStores("changelog", 0);
  let [step] = build(stores);
  const changelog: OutboundRecord[] = [];
  return testCase.steps.map((s, index) => {
    if (index === restartBefore) {
      stores = new TaskStores("changelog", 0);
      for (const record of changelog) stores.restore(String(record.key), record.value);
      [step] = build(stores);
    }
    const now = s.at ?? fixture.now;
    const counts: Record<string, number> = {};
    const result = runChain(
      [step!],
      s.input.map((x) => full(x, now)),
      () => now,
      {
        step: () => undefined,
        dropped: (_p, reason, n) => void (counts[reason] = (counts[reason] ?? 0) + n),
      },
    );
    changelog.push(...stores.changes());
    return {
      expected: {
        output: s.output.map((x) => full(x, now)),
        rejected: s.rejected,
        late: s.late.map((x) => full(x, now)),
        counts: s.counts,
      },
      actual: {
        output: result.samples,
        rejected: result.rejected.map((r) => ({ name: r.sample.name, reason: r.reason })),
        late: result.late,
        counts,
      },
    };
  });
}

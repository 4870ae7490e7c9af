// A pipeline whose input is keyed by a label every group fixes needs no repartition hop; a sample
// that breaks the declared keying is rejected at the grouping step, never counted into a window.
import { describe, expect, it } from "vitest";
import { buildChain, runChain } from "../../../pipelines/chain.js";
import { pipelineSettings } from "../../../pipelines/config.js";
import { keyCheckedBatch, stagePlans } from "../../../pipelines/runner.js";
import type { MetricSample } from "../../../schemas/types.js";

const T0 = Date.parse("2026-11-25T10:00:00Z");
const sample = (host: string, value: number, at = 0, name = "gpu_util"): MetricSample => ({
  name,
  value,
  timestamp: T0 + at,
  labels: { host, gpu: "0" },
  type: "gauge",
  unit: "",
  startTimestamp: null,
});
const windows = (groupBy: string[]) => ({
  "window-aggregate": { groupBy, size: "10s", metrics: ["gpu_util"], aggregates: ["count"] },
});
const pipeline = (extra: Record<string, unknown>, groupBy = ["host"]) =>
  pipelineSettings.parse({
    kafka: { brokers: ["127.0.0.1:1"] },
    pipelines: [{ name: "p", processors: [{ validate: {} }, windows(groupBy)], ...extra }],
  }).pipelines[0]!;

describe("input keyed by a label", () => {
  it("runs a grouping pipeline as one stage when its groups fix the label the input is keyed by", () => {
    expect(stagePlans(pipeline({ inputKeyedBy: "host" })).map((p) => p.inputs)).toEqual([
      ["telemetry.metrics.raw"],
    ]);
    expect(stagePlans(pipeline({ inputKeyedBy: "host" }))[0]!.keyedBy?.at).toBe(1);
  });

  it("keeps the hop when the input is not declared keyed, or its groups do not fix that label", () => {
    expect(stagePlans(pipeline({}))).toHaveLength(2);
    expect(stagePlans(pipeline({ inputKeyedBy: "host" }, ["gpu"]))).toHaveLength(2);
  });

  it("rejects at the grouping step a sample whose label is not its record's key, and only those", () => {
    const [plan] = stagePlans(pipeline({ inputKeyedBy: "host" }));
    const steps = buildChain(plan!.steps);
    const run = (part: typeof steps, samples: MetricSample[]) => runChain(part, samples, () => T0);
    const result = keyCheckedBatch(run, steps, plan!.keyedBy!, [
      { key: Buffer.from("a"), samples: [sample("a", 1), sample("b", 2)] },
      // Not taken by the window: its label does not matter.
      { key: "b", samples: [sample("b", 3), sample("a", 5, 0, "not_windowed")] },
      { key: "a", samples: [sample("a", 4, 11_000)] }, // closes a's first window
    ]);
    expect(result.records.map((r) => r.rejected.map((x) => [x.sample.value, x.code]))).toEqual([
      [[2, "VGL_KEY_MISMATCH"]],
      [],
      [],
    ]);
    expect(result.records[0]!.rejected[0]!.reason).toBe(
      `label host="b" is not its record's key "a" (the pipeline's inputKeyedBy)`,
    );
    expect(result.samples.map((s) => [s.name, s.labels.host, s.value])).toEqual([
      ["gpu_util_count", "a", 1],
    ]);
  });

  it("runs the grouping step once for the whole batch, and gives each late sample back to its record", () => {
    const [plan] = stagePlans(pipeline({ inputKeyedBy: "host" }));
    const steps = buildChain(plan!.steps);
    const run = (part: typeof steps, samples: MetricSample[]) => runChain(part, samples, () => T0);
    const result = keyCheckedBatch(run, steps, plan!.keyedBy!, [
      { key: "a", samples: [sample("a", 1), sample("a", 2, 1_000)] },
      { key: "b", samples: [sample("b", 7)] },
      { key: "a", samples: [sample("a", 3, 21_000)] }, // a's watermark past its first window
      { key: "a", samples: [sample("a", 9, 2_000)] }, // late: that window closed in this batch
    ]);
    expect(result.samples.map((s) => [s.labels.host, s.value])).toEqual([["a", 2]]);
    expect(result.records.map((r) => r.late.map((s) => s.value))).toEqual([[], [], [], [9]]);
  });
});

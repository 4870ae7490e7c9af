// What a stateless pipeline saves per record: a record its steps let through unchanged goes on as
// the bytes it came in (no encode), and the processors' counts are reported once per batch.
import { describe, expect, it } from "vitest";
import { tallied, type ChainTelemetry } from "../../../pipelines/chain.js";
import { pipelineSettings } from "../../../pipelines/config.js";
import { outputRecords } from "../../../pipelines/runner.js";
import { decode, encode } from "../../../schemas/codec.js";
import type { MetricSample } from "../../../schemas/types.js";

const sample: MetricSample = {
  name: "gpu_util",
  value: 1,
  timestamp: Date.parse("2026-11-25T10:00:00Z"),
  labels: { host: "a" },
  type: "gauge",
  unit: "",
  startTimestamp: null,
};
const pipeline = (extra: Record<string, unknown> = {}) =>
  pipelineSettings.parse({
    kafka: { brokers: ["127.0.0.1:1"] },
    pipelines: [{ name: "p", stateful: false, processors: [{ validate: {} }], ...extra }],
  }).pipelines[0]!;

describe("a stateless pipeline's output", () => {
  it("is the input record's own bytes when its samples came through unchanged", () => {
    const value = encode("metric-batch", { source: "a", samples: [sample] });
    const [out] = outputRecords(pipeline(), "a", "a", [sample], value);
    expect(out!.value).toBe(value);
    expect(out!.key).toBe("a");
  });

  it("is encoded again when the samples changed, or when outputs are keyed by series", () => {
    const changed = { ...sample, value: 2 };
    const [out] = outputRecords(pipeline(), "a", "a", [changed]);
    expect(decode("metric-batch", out!.value).samples[0]!.value).toBe(2);
    const value = encode("metric-batch", { source: "a", samples: [sample] });
    const [bySeries] = outputRecords(pipeline({ outputKey: "series" }), "a", "a", [sample], value);
    expect(bySeries!.value).not.toBe(value);
    expect(bySeries!.key).toBe('{host="a"}');
  });
});

describe("tallied telemetry", () => {
  it("reports a batch's counts once per processor and reason, summed", () => {
    const calls: unknown[][] = [];
    const to: ChainTelemetry = {
      step: (...args) => calls.push(["step", ...args]),
      dropped: (...args) => calls.push(["dropped", ...args]),
    };
    const tally = tallied(to);
    tally.step("validate", 10, 9, 1);
    tally.step("normalize", 9, 9, 0);
    tally.step("validate", 5, 5, 0);
    tally.dropped("validate", "too_old", 2);
    tally.dropped("validate", "too_old", 3);
    expect(calls).toEqual([]);
    tally.flush();
    expect(calls).toEqual([
      ["step", "validate", 15, 14, 1],
      ["step", "normalize", 9, 9, 0],
      ["dropped", "validate", "too_old", 5],
    ]);
    tally.flush();
    expect(calls).toHaveLength(3);
  });
});

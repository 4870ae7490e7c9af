import { describe, expect, it } from "vitest";
import { normalize } from "../../../pipelines/processors/normalize.js";
import type { MetricSample } from "../../../schemas/types.js";

const context = { now: () => 0, count: () => undefined, caughtUp: () => true };
const sample = (over: Partial<MetricSample>): MetricSample => ({
  name: "gpu_util_percent",
  value: 90,
  timestamp: 0,
  labels: { host: "node-1" },
  type: "gauge",
  unit: "percent",
  startTimestamp: null,
  ...over,
});

describe("normalize", () => {
  const instance = normalize.create(normalize.config.parse({}));

  it("passes a validly named sample in no unit to convert on as the same object", () => {
    const input = sample({});
    expect(instance.process([input], context).samples[0]).toBe(input);
  });

  it("copies a sample it renames or converts, leaving the input as it was", () => {
    const input = sample({
      name: "latency_ms",
      unit: "milliseconds",
      value: 5,
      labels: { "a.b": "x" },
    });
    const [out] = instance.process([input], context).samples;
    expect(out).toMatchObject({ name: "latency_seconds", value: 0.005, labels: { a_b: "x" } });
    expect(input).toMatchObject({ name: "latency_ms", value: 5, labels: { "a.b": "x" } });
  });
});

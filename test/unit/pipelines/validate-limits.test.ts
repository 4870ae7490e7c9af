import { describe, expect, it } from "vitest";
import { validate } from "../../../pipelines/processors/validate.js";
import type { MetricSample } from "../../../schemas/types.js";

const NOW = Date.parse("2026-11-30T00:00:00Z");
const sample = (name: string, labels: Record<string, string> = {}): MetricSample => ({
  name,
  value: 1,
  timestamp: NOW,
  labels,
  type: "gauge",
  unit: "",
  startTimestamp: null,
});

describe("validate's name limit", () => {
  it("refuses a metric or label name past maxNameLength, quoting only its start", () => {
    const step = validate.create(validate.config.parse({ maxNameLength: 8 }));
    const result = step.process(
      [
        sample("gpu_temperature_celsius"),
        sample("gpu_temp", { a_very_long_label: "x" }),
        sample("gpu_temp"),
      ],
      { now: () => NOW, count: () => undefined, caughtUp: () => true },
    );
    expect(result.samples.map((s) => s.name)).toEqual(["gpu_temp"]);
    expect(result.rejected!.map((r) => r.reason)).toEqual([
      'name: "gpu_temperature_celsius…" is 23 characters, longer than 8',
      'name: "a_very_long_label…" is 17 characters, longer than 8',
    ]);
  });
});

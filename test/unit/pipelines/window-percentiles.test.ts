import { describe, expect, it } from "vitest";
import { buildChain, runChain } from "../../../pipelines/chain.js";
import type { MetricSample } from "../../../schemas/types.js";
import { TaskStores } from "../../../services/chassis/state-store.js";

const T0 = Date.parse("2026-11-25T10:00:00Z");

/** Exact quantile by the rank DDSketch uses: the value at rank floor(q × (n − 1)) in sorted order. */
const exact = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))]!;

describe("window percentiles", () => {
  it("are within 1% of the exact quantiles of a window's values", () => {
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const values = Array.from({ length: 10_000 }, () => Math.round(10 + 500 * random() ** 3));
    const samples: MetricSample[] = values.map((value, i) => ({
      name: "http_latency_ms",
      value,
      timestamp: T0 + (i % 60_000),
      labels: {},
      type: "gauge",
      unit: "",
      startTimestamp: null,
    }));
    const chain = buildChain([
      {
        name: "window-aggregate",
        config: { size: "1m", idleTimeout: "1s", aggregates: ["p50", "p90", "p95", "p99"] },
      },
    ]);
    runChain(chain, samples, () => T0);
    const { samples: out } = runChain(chain, [], () => T0 + 120_000); // idle: the window closes
    for (const [name, q] of [
      ["p50", 0.5],
      ["p90", 0.9],
      ["p95", 0.95],
      ["p99", 0.99],
    ] as const) {
      const got = out.find((s) => s.name === `http_latency_ms_${name}`)!.value;
      expect(Math.abs(got - exact(values, q)) / exact(values, q), name).toBeLessThanOrEqual(0.01);
    }
  });

  it("are exact while a window holds 64 values or fewer", () => {
    const values = [7.25, 1.5, 300, 42, 42, 0.001, 19, 1_000_000, 8, 3.5];
    const samples: MetricSample[] = values.map((value, i) => ({
      name: "lat",
      value,
      timestamp: T0 + i * 1000,
      labels: {},
      type: "gauge",
      unit: "",
      startTimestamp: null,
    }));
    const chain = buildChain([
      {
        name: "window-aggregate",
        config: { size: "1m", idleTimeout: "1s", aggregates: ["p50", "p90", "p99"] },
      },
    ]);
    runChain(chain, samples, () => T0);
    const { samples: out } = runChain(chain, [], () => T0 + 120_000);
    expect(out.map((s) => [s.name, s.value])).toEqual([
      ["lat_p50", exact(values, 0.5)],
      ["lat_p90", exact(values, 0.9)],
      ["lat_p99", exact(values, 0.99)],
    ]);
    expect(out.map((s) => s.value)).toEqual([8, 300, 300]);
  });

  it("puts a sample into every hopping window that covers it", () => {
    const chain = buildChain([
      {
        name: "window-aggregate",
        config: { size: "1m", advance: "20s", idleTimeout: "1s", aggregates: ["count"] },
      },
    ]);
    runChain(
      chain,
      [
        {
          name: "m",
          value: 1,
          timestamp: T0 + 45_000,
          labels: {},
          type: "gauge",
          unit: "",
          startTimestamp: null,
        },
      ],
      () => T0,
    );
    const { samples } = runChain(chain, [], () => T0 + 10_000);
    expect(samples.map((s) => new Date(s.timestamp).toISOString())).toEqual([
      "2026-11-25T10:01:00.000Z",
      "2026-11-25T10:01:20.000Z",
      "2026-11-25T10:01:40.000Z",
    ]);
  });
});

describe("a window restored from its changelog", () => {
  it("gives exactly the percentiles of one never restored, to the last bit", () => {
    const config = { size: "1m", idleTimeout: "1s", aggregates: ["p50", "p90", "p99"] };
    const samples: MetricSample[] = Array.from({ length: 500 }, (_, i) => ({
      name: "lat",
      value: 0.05 + ((i * 37) % 100) / 97,
      timestamp: T0 + i * 100,
      labels: {},
      type: "gauge",
      unit: "",
      startTimestamp: null,
    }));
    const step = [{ name: "window-aggregate", config }];
    const whole = buildChain(step);
    runChain(whole, samples, () => T0);
    const expected = runChain(whole, [], () => T0 + 120_000).samples;

    const stores = new TaskStores("changelog", 0);
    runChain(buildChain(step, "processors", stores), samples, () => T0);
    const restored = new TaskStores("changelog", 0);
    for (const record of stores.changes()) restored.restore(String(record.key), record.value);
    const after = runChain(buildChain(step, "processors", restored), [], () => T0 + 120_000);
    expect(after.samples).toEqual(expected);
  });
});

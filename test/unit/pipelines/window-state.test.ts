import { DDSketch } from "@datadog/sketches-js";
import { describe, expect, it } from "vitest";
import { groupKeyOf, parseSeriesKey, seriesKey } from "../../../pipelines/api.js";
import { buildChain, runChain } from "../../../pipelines/chain.js";
import type { MetricSample } from "../../../schemas/types.js";
import { TaskStores } from "../../../services/chassis/state-store.js";

const T0 = Date.parse("2026-11-25T10:00:00Z");
const labels = { host: 'we"ird,host=\\x', path: "/a{b}", zone: "ünï" };
const sample = (value: number, at: number): MetricSample => ({
  name: "latency_ms",
  value,
  timestamp: T0 + at,
  labels,
  type: "gauge",
  unit: "",
  startTimestamp: null,
});
const steps = [
  {
    name: "window-aggregate",
    config: { groupBy: ["host", "path", "zone"], size: "10s", idleTimeout: 0 },
  },
];

describe("window state in the changelog", () => {
  it("reads a series key back into the name and labels it was made of, hostile text included", () => {
    const cases: { name: string; labels: Record<string, string> }[] = [
      { name: "up", labels: {} },
      { name: "latency_ms", labels },
      { name: "odd{name", labels: { a: "}", b: '{x="y"}' } },
    ];
    for (const series of cases) expect(parseSeriesKey(seriesKey(series))).toEqual(series);
    expect(() => parseSeriesKey("no braces")).toThrow(/not a series key/);
  });

  it("builds a group's key as the series key of its name and the grouped labels it has", () => {
    const sample = { name: "latency_ms", labels: { ...labels, "0": "zero", other: "x" } };
    for (const groupBy of [["zone", "host", "path"], ["path", "missing"], [], ["0", "host", "0"]]) {
      const picked = Object.fromEntries(
        groupBy.filter((l) => l in sample.labels).map((l) => [l, sample.labels[l as "host"]]),
      );
      expect(groupKeyOf(groupBy)(sample)).toBe(seriesKey({ name: sample.name, labels: picked }));
    }
  });

  it("holds a window as numbers and its values or sketch, the labels only in the key, and restores it exactly", () => {
    const stores = new TaskStores("changelog", 0);
    const chain = buildChain(steps, "processors", stores);
    const plain = buildChain(steps);
    const first = [1, 2, 3, 250].map((v, i) => sample(v, i * 1000));
    runChain(chain, first, () => T0);
    runChain(plain, first, () => T0);
    const changes = stores.changes();
    const window = changes.find((c) => String(c.key).includes("@"))!;
    expect(window.value![0]).toBe(0); // binary
    expect(window.value!.includes(Buffer.from("host"))).toBe(false);

    const restored = new TaskStores("changelog", 0);
    for (const c of changes) restored.restore(String(c.key), c.value);
    const again = buildChain(steps, "processors", restored);
    const rest = [7, 8, sample(9, 12_000).value].map((v, i) => sample(v, 5000 + i * 3500));
    expect(runChain(again, rest, () => T0).samples).toEqual(
      runChain(plain, rest, () => T0).samples,
    );
  });

  it("keeps no sketch where no percentile is asked, and restores such a window exactly", () => {
    const counting = [
      { ...steps[0]!, config: { ...steps[0]!.config, aggregates: ["count", "mean"] } },
    ];
    const stores = new TaskStores("changelog", 0);
    const chain = buildChain(counting, "processors", stores);
    const plain = buildChain(counting);
    const first = [1, 2, 3].map((v, i) => sample(v, i * 1000));
    runChain(chain, first, () => T0);
    runChain(plain, first, () => T0);
    const changes = stores.changes();
    const window = changes.find((c) => String(c.key).includes("@"))!;
    expect(window.value!.length).toBe(1 + 1 + 9 * 8); // marker, tag, nine numbers: no sketch

    const restored = new TaskStores("changelog", 0);
    for (const c of changes) restored.restore(String(c.key), c.value);
    const again = buildChain(counting, "processors", restored);
    const rest = [4, 5].map((v, i) => sample(v, 11_000 + i * 1000));
    const out = runChain(again, rest, () => T0).samples;
    expect(out).toEqual(runChain(plain, rest, () => T0).samples);
    expect(out.map((s) => [s.name, s.value])).toEqual([
      ["latency_ms_count", 3],
      ["latency_ms_mean", 2],
    ]);
  });

  it("keeps a few values as they are and a sketch past 64, restores either, and gives a sketch's percentiles", () => {
    const percentiles = [
      { ...steps[0]!, config: { ...steps[0]!.config, aggregates: ["count", "p50", "p99"] } },
    ];
    const values = Array.from({ length: 100 }, (_, i) => ((i * 7919) % 1009) / 10 + 0.1);
    const all = values.map((v, i) => sample(v, i * 50)); // 100 samples within one 10 s window
    const plain = buildChain(percentiles);
    runChain(plain, all, () => T0);
    const closing = [sample(1, 10_000)];
    const expected = runChain(plain, closing, () => T0).samples;

    const sketch = new DDSketch({ relativeAccuracy: 0.01 });
    for (const v of values) sketch.accept(v);
    expect(expected.map((s) => s.value)).toEqual([
      100,
      sketch.getValueAtQuantile(0.5),
      sketch.getValueAtQuantile(0.99),
    ]);

    // Restored from the changelog after 30 samples (its values) and after 80 (its sketch).
    let stores = new TaskStores("changelog", 0);
    let chain = buildChain(percentiles, "processors", stores);
    const tags: number[] = [];
    for (const [from, to] of [
      [0, 30],
      [30, 80],
      [80, 100],
    ] as const) {
      runChain(chain, all.slice(from, to), () => T0);
      const changes = stores.changes();
      tags.push(changes.find((c) => String(c.key).includes("@"))!.value![1]!);
      const next = new TaskStores("changelog", 0);
      for (const c of changes) next.restore(String(c.key), c.value);
      stores = next;
      chain = buildChain(percentiles, "processors", stores);
    }
    expect(tags).toEqual([4, 1, 1]); // values, then a sketch
    expect(runChain(chain, closing, () => T0).samples).toEqual(expected);
  });
});

// The alert lifecycle, driven through the engine with an injected clock: no sleeping.
import { describe, expect, it } from "vitest";
import type { Alert, MetricSample } from "../../../schemas/types.js";
import { DETECTORS } from "../../../services/detector/anomaly/registry.js";
import type { OutboundRecord } from "../../../services/chassis/producer.js";
import { TaskStores } from "../../../services/chassis/state-store.js";
import { DetectionEngine, type Track } from "../../../services/detector/engine.js";
import { fingerprint } from "../../../services/detector/lifecycle.js";
import { parseRules } from "../../../services/detector/rules/load.js";
import { trackCodec } from "../../../services/detector/track-codec.js";

const T0 = Date.UTC(2026, 10, 25);
const S = 1000;

function engineWith(rule: string, resendEvery = Infinity, stores = new TaskStores("changelog", 0)) {
  const rules = parseRules(
    `rules:\n  - name: R\n    select: m\n    severity: major\n    annotations: { summary: "{{ $labels.host }} {{ $value }}" }\n${rule}`,
    "test",
  );
  const counted: Record<string, number> = {};
  const engine = new DetectionEngine(
    rules,
    {
      resendEvery,
      maxTracks: 100,
      count: (reason, n = 1) => (counted[reason] = (counted[reason] ?? 0) + n),
    },
    stores.store<Track>("tracks", trackCodec),
  );
  return { engine, counted, stores };
}

const at = (second: number, value: number, host = "h"): MetricSample => ({
  name: "m",
  value,
  timestamp: T0 + second * S,
  labels: { host },
  type: "gauge",
  unit: "",
  startTimestamp: null,
});

/** Feeds [second, value] pairs one per call, processing time = event time; returns event summaries. */
function run(engine: DetectionEngine, points: [number, number][]): string[] {
  const events: Alert[] = [];
  for (const [second, value] of points) {
    events.push(...engine.observe([at(second, value)], T0 + second * S));
    events.push(...engine.tick(T0 + second * S));
  }
  return events.map(
    (e) =>
      `${(e.sentAt - T0) / S}:${e.resend ? "resend" : e.status}${e.flapping ? ":flapping" : ""}`,
  );
}

describe("the alert lifecycle", () => {
  it("announces nothing while pending, fires once when `for` has passed, resolves once", () => {
    const { engine } = engineWith(`    when: "> 10"\n    for: 20s`);
    expect(
      run(engine, [
        [0, 11],
        [10, 12],
        [15, 5],
        [20, 11],
        [30, 11],
        [40, 11],
        [50, 11],
        [60, 1],
        [70, 1],
      ]),
    ).toEqual(["40:firing", "60:resolved"]);
  });

  it("needs N breaches in a row, however long they last", () => {
    const { engine } = engineWith(`    when: "> 10"\n    consecutive: 3`);
    expect(
      run(engine, [
        [0, 11],
        [1, 11],
        [2, 1],
        [3, 11],
        [4, 11],
        [5, 11],
      ]),
    ).toEqual(["5:firing"]);
  });

  it("stays firing above the recovery threshold and for keepFiringFor after it clears", () => {
    const { engine } = engineWith(`    when: "> 10"\n    recover: "< 5"\n    keepFiringFor: 30s`);
    expect(
      run(engine, [
        [0, 11],
        [10, 7],
        [20, 4],
        [40, 4],
        [50, 4],
        [60, 4],
      ]),
    ).toEqual(["0:firing", "40:resolved"]);
  });

  it("marks an alert flapping after too many transitions and holds it until it settles", () => {
    const { engine } = engineWith(
      `    when: "> 10"\n    flapping: { transitions: 4, window: 10m, hold: 60s }`,
    );
    const swings: [number, number][] = [0, 10, 20, 30, 40, 50, 60, 70].map((s, i) => [
      s,
      i % 2 ? 1 : 11,
    ]);
    expect(run(engine, [...swings, [80, 1], [130, 1], [140, 1]])).toEqual([
      "0:firing",
      "10:resolved",
      "20:firing",
      "30:firing:flapping",
      "130:resolved:flapping",
    ]);
  });

  it("marks re-sends while firing, on processing time", () => {
    const { engine } = engineWith(`    when: "> 10"`, 30 * S);
    expect(
      run(engine, [
        [0, 11],
        [20, 11],
        [30, 11],
        [45, 11],
        [61, 11],
        [70, 1],
      ]),
    ).toEqual(["0:firing", "30:resend", "61:resend", "70:resolved"]);
  });

  it("resolves a firing alert whose series went silent, and forgets the series", () => {
    const { engine } = engineWith(`    when: "> 10"\n    noData: { after: 30s }`);
    engine.observe([at(0, 11)], T0);
    expect(engine.tick(T0 + 29 * S)).toEqual([]);
    expect(engine.tick(T0 + 30 * S).map((e) => [e.status, e.endsAt])).toEqual([
      ["resolved", T0 + 30 * S],
    ]);
    expect(engine.size).toBe(0);
  });

  it("keeps a silent firing alert when told to, until forgetAfter", () => {
    const { engine } = engineWith(
      `    when: "> 10"\n    noData: { after: 30s, action: keep, forgetAfter: 10m }`,
    );
    engine.observe([at(0, 11)], T0);
    expect(engine.tick(T0 + 5 * 60 * S)).toEqual([]);
    expect(engine.firing(T0 + 5 * 60 * S)).toHaveLength(1);
    expect(engine.tick(T0 + 10 * 60 * S).map((e) => e.status)).toEqual(["resolved"]);
  });

  it("fires an absent alert, labelled nodata, for a threshold rule's silent series", () => {
    const { engine } = engineWith(`    when: "> 10"\n    noData: { after: 30s, action: absent }`);
    engine.observe([at(0, 1)], T0);
    const [absent] = engine.tick(T0 + 30 * S);
    expect(absent).toMatchObject({ status: "firing", labels: { host: "h", nodata: "true" } });
    expect(absent!.annotations.summary).toBe("No data for R from host=h for 30s");
    expect(engine.observe([at(40, 1)], T0 + 40 * S).map((e) => [e.status, e.fingerprint])).toEqual([
      ["resolved", absent!.fingerprint],
    ]);
  });

  it("continues from its changelog (the tracks each step changed) exactly as if nothing had happened", () => {
    const points: [number, number][] = [
      [0, 11],
      [10, 11],
      [20, 11],
      [30, 1],
      [40, 11],
      [50, 11],
      [60, 11],
      [70, 1],
    ];
    const rule = `    when: "> 10"\n    for: 15s\n    consecutive: 2`;
    const whole = run(engineWith(rule).engine, points);
    for (let cut = 1; cut < points.length; cut++) {
      const first = engineWith(rule);
      const changelog: OutboundRecord[] = [];
      const before = points.slice(0, cut).flatMap((point) => {
        const events = run(first.engine, [point]);
        changelog.push(...first.stores.changes()); // one commit per sample
        return events;
      });
      const restored = new TaskStores("changelog", 0);
      for (const record of changelog) restored.restore(String(record.key), record.value);
      const second = engineWith(rule, Infinity, restored).engine;
      expect([...before, ...run(second, points.slice(cut))]).toEqual(whole);
    }
  });

  it("continues from tracks an earlier version wrote to its changelog as JSON", () => {
    const rule = `    when: "> 10"\n    consecutive: 2`;
    const first = engineWith(rule);
    run(first.engine, [[0, 11]]);
    const restored = new TaskStores("changelog", 0);
    for (const [key, track] of first.stores.store<Track>("tracks").entries())
      restored.restore(`tracks|${key}`, Buffer.from(JSON.stringify(track)));
    // The second breach in a row fires: the streak of the first came back from the JSON value.
    expect(run(engineWith(rule, Infinity, restored).engine, [[10, 11]])).toEqual(["10:firing"]);
  });

  it("skips a sample it has already judged (a redelivery) and counts it", () => {
    const { engine, counted } = engineWith(`    when: "> 10"`);
    expect(engine.observe([at(0, 11)], T0)).toHaveLength(1);
    expect(engine.observe([at(0, 11)], T0)).toHaveLength(0);
    expect(counted.out_of_order).toBe(1);
  });

  it("bounds its tracks and counts the series it had to skip", () => {
    const { engine, counted } = engineWith(`    when: "> 10"`);
    engine.observe(
      Array.from({ length: 150 }, (_, i) => at(0, 1, `h${i}`)),
      T0,
    );
    expect(engine.size).toBe(100);
    expect(counted.too_many_series).toBe(50);
  });

  it("gives an alert a fingerprint that depends on the rule and labels, not their order", () => {
    expect(fingerprint("R", { a: "1", b: "2" })).toBe(fingerprint("R", { b: "2", a: "1" }));
    expect(fingerprint("R", { a: "1" })).not.toBe(fingerprint("S", { a: "1" }));
    expect(fingerprint("R", { a: "1" })).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("anomaly detectors", () => {
  const feed = (name: string, options: object, values: number[], warmup: number) => {
    const spec = DETECTORS[name]!;
    const config = spec.config.parse(options);
    const state = spec.init(config);
    return values.map((v, i) => spec.observe(state, v, T0 + i * 60 * S, config, warmup));
  };

  it("ewma: ready only after its warm-up, then scores a spike far above noise", () => {
    const values = [...Array.from({ length: 40 }, (_, i) => 50 + (i % 2)), 70];
    const seen = feed("ewma", { alpha: 0.1 }, values, 30);
    expect(seen[10]!.ready).toBe(false);
    expect(seen[40]!.ready).toBe(true);
    expect(seen[40]!.score).toBeGreaterThan(10);
    expect(Math.abs(seen[39]!.score)).toBeLessThan(3);
  });

  it("mad: one outlier in the history barely moves the baseline", () => {
    const history = [...Array.from({ length: 30 }, (_, i) => 100 + (i % 3)), 1000];
    const seen = feed("mad", { window: 60 }, [...history, 101, 130], 10);
    expect(seen[31]!.expected).toBe(101);
    expect(Math.abs(seen[31]!.score)).toBeLessThan(1);
    expect(seen[32]!.score).toBeGreaterThan(10);
  });

  it("seasonal: judges a sample against the same time of past periods", () => {
    // A daily shape with an hourly bucket: busy (80) from 09:00 to 17:00, quiet (10) otherwise.
    const day = (d: number) =>
      Array.from({ length: 24 }, (_, h) => (h >= 9 && h < 17 ? 80 : 10) + (d % 2));
    const spec = DETECTORS.seasonal!;
    const config = spec.config.parse({ period: "1d", bucket: "1h" });
    const state = spec.init(config);
    let last = { ready: false, expected: 0, score: 0 };
    for (let d = 0; d < 5; d++)
      day(d).forEach(
        (v, h) => (last = spec.observe(state, v, T0 + (d * 24 + h) * 3_600 * S, config, 3)),
      );
    // 80 at 10:00 is normal; 80 at 03:00 is not.
    const busy = spec.observe(state, 80, T0 + (5 * 24 + 10) * 3_600 * S, config, 3);
    const night = spec.observe(state, 80, T0 + (5 * 24 + 3) * 3_600 * S, config, 3);
    expect(last.ready).toBe(true);
    expect(Math.abs(busy.score)).toBeLessThan(3);
    expect(night.score).toBeGreaterThan(10);
  });

  it("an anomaly rule respects direction and the absolute floor", () => {
    const { engine } = engineWith(
      `    anomaly: { detector: mad, warmup: 5, threshold: 3, minDeviation: 10, direction: up }`,
    );
    const base: [number, number][] = Array.from({ length: 10 }, (_, i) => [i, 50 + (i % 2)]);
    expect(run(engine, [...base, [10, 20], [11, 55], [12, 80]])).toEqual(["12:firing"]);
  });
});

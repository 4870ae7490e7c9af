// A step's state is named by its id, not its position: inserting a step before a stateful one
// leaves that one's windows where they are, and a changelog written when stores were named by
// position is adopted once, by the step at that position.
import { describe, expect, it } from "vitest";
import { buildChain, runChain, type StepConfig } from "../../../pipelines/chain.js";
import { pipelineSchema } from "../../../pipelines/config.js";
import type { MetricSample } from "../../../schemas/types.js";
import { TaskStores } from "../../../services/chassis/state-store.js";

const T0 = Date.parse("2026-11-25T10:00:00Z");
const WINDOW: StepConfig = {
  name: "window-aggregate",
  config: { size: "1m", aggregates: ["count", "sum"], idleTimeout: 0 },
};
const sample = (i: number): MetricSample => ({
  name: "lat",
  value: i,
  timestamp: T0 + i * 1_000,
  labels: { host: "a" },
  type: "gauge",
  unit: "",
  startTimestamp: null,
});
const samples = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => sample(from + k));

/** A restart: a new task's stores read back what the old one's commits wrote. */
function restart(before: TaskStores): TaskStores {
  const after = new TaskStores("changelog", 0);
  for (const record of before.changes()) after.restore(String(record.key), record.value);
  return after;
}

const now = () => T0;

describe("state named by step id", () => {
  it("keeps every window's counts when a stateful step is inserted before it and the task restarts", () => {
    const whole = buildChain([WINDOW]);
    const expected = runChain(whole, [...samples(0, 90), sample(200)], now).samples;
    expect(expected.length).toBeGreaterThan(0);

    const first = new TaskStores("changelog", 0);
    runChain(buildChain([WINDOW], "processors", first), samples(0, 45), now);
    const second = restart(first);
    // dedupe is stateful too: by position it would have taken the window's store ("0").
    const chain = buildChain([{ name: "dedupe", config: {} }, WINDOW], "processors", second);
    const out = runChain(chain, [...samples(45, 90), sample(200)], now).samples;
    expect(out).toEqual(expected);
    expect(out.find((s) => s.name === "lat_count")?.value).toBe(60);
  });

  it("adopts a changelog whose stores were named by position, and rewrites it under the id", () => {
    // What a chain wrote before steps had ids: the window's store was named "0".
    const before = new TaskStores("changelog", 0);
    runChain(buildChain([WINDOW], "processors", before), samples(0, 30), now);
    const upgraded = new TaskStores("changelog", 0);
    for (const record of before.changes())
      upgraded.restore(String(record.key).replace(/^window-aggregate\|/, "0|"), record.value);

    const chain = buildChain([WINDOW], "processors", upgraded);
    const written = upgraded.changes();
    const keys = written.map((r) => String(r.key));
    expect(keys.filter((k) => k.startsWith("0|")).length).toBeGreaterThan(0);
    expect(
      written.filter((r) => String(r.key).startsWith("0|")).every((r) => r.value === null),
    ).toBe(true);
    expect(keys.filter((k) => k.startsWith("window-aggregate|")).length).toBe(
      keys.filter((k) => k.startsWith("0|")).length,
    );
    const out = runChain(chain, [...samples(30, 60), sample(200)], now).samples;
    expect(out.find((s) => s.name === "lat_count")?.value).toBe(60);
  });

  it("refuses a pipeline whose two stateful steps would share one store, naming the step", () => {
    const parsed = pipelineSchema.safeParse({
      name: "twice",
      processors: [{ "window-aggregate": { size: "1m" } }, { "window-aggregate": { size: "5m" } }],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message)).toEqual([
      'processors[1].id: state store "window-aggregate" is already the store of processors[0] (window-aggregate); give one of them another id',
    ]);
  });

  it("accepts the same two steps once each has an id of its own", () => {
    const parsed = pipelineSchema.parse({
      name: "twice",
      processors: [
        { "window-aggregate": { size: "1m" }, id: "per-minute" },
        { "window-aggregate": { size: "5m" }, id: "per-5m" },
      ],
    });
    expect(parsed.processors.map((s) => s.id)).toEqual(["per-minute", "per-5m"]);
  });

  it("refuses an id that is not a lowercase name", () => {
    const parsed = pipelineSchema.safeParse({
      name: "bad",
      processors: [{ dedupe: {}, id: "0" }],
    });
    expect(parsed.error?.issues[0]?.path).toEqual(["processors", 0, "id"]);
  });
});

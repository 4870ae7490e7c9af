// One contract over every registered processor: a new processor is covered the moment it
// registers.
import { describe, expect, it } from "vitest";
import { buildChain, runChain } from "../../../pipelines/chain.js";
import { loadFixtures, runCase } from "../../../pipelines/fixtures.js";
import { PROCESSORS } from "../../../pipelines/registry.js";

const fixtures = loadFixtures();
const sample = {
  name: "cpu_used_percent",
  value: 50,
  timestamp: 1_764_000_000_000,
  labels: { host: "a" },
  type: "gauge" as const,
  unit: "percent",
  startTimestamp: null,
};

describe.each(PROCESSORS.map((p) => [p.name, p] as const))("processor %s", (name, spec) => {
  const fixture = fixtures.find((f) => f.processor === name);

  it("has a fixture file with at least one case", () => {
    expect(fixture?.cases.length ?? 0).toBeGreaterThan(0);
  });

  it("rejects an unknown configuration key, naming it", () => {
    expect(() =>
      buildChain([{ name, config: { ...(fixture?.config as object), nosuchkey: 1 } }]),
    ).toThrow(`processors[0].${name}.nosuchkey: unknown key`);
  });

  if (spec.state)
    it("gives the same results when its state is snapshot and restored between fixture steps", () => {
      let compared = 0;
      for (const testCase of fixture?.cases ?? []) {
        for (let restart = 1; restart < testCase.steps.length; restart++) {
          for (const [i, step] of runCase(fixture!, testCase.name, restart).entries()) {
            expect(
              step.actual,
              `${testCase.name}, restored before step ${restart + 1}, step ${i + 1}`,
            ).toEqual(step.expected);
            compared += 1;
          }
        }
      }
      // A stateful processor's fixture must have a case of several steps, or nothing is restored.
      expect(compared, "fixture steps compared after a restore").toBeGreaterThan(0);
    });
  else
    it("keeps no state: every fixture case gives its output again when run a second time", () => {
      let compared = 0;
      for (const testCase of fixture?.cases ?? []) {
        const [once, again] = [runCase(fixture!, testCase.name), runCase(fixture!, testCase.name)];
        expect(again.map((s) => s.actual)).toEqual(once.map((s) => s.expected));
        compared += once.length;
      }
      expect(compared).toBeGreaterThan(0);
    });

  it("returns nothing for an empty batch", () => {
    const chain = buildChain([{ name, config: fixture?.config ?? {} }]);
    expect(runChain(chain, [], () => 0)).toEqual({ samples: [], rejected: [], late: [] });
  });

  it("reports samples in and out for every batch it processes", () => {
    const chain = buildChain([{ name, config: fixture?.config ?? {} }]);
    const reported: [string, number, number, number][] = [];
    const result = runChain(chain, [sample], () => sample.timestamp, {
      step: (...args) => void reported.push(args),
      dropped: () => undefined,
    });
    expect(reported).toEqual([[name, 1, result.samples.length, result.rejected.length]]);
    expect(spec.description.length).toBeGreaterThan(10);
  });
});

// Runs every processor's fixture file (pipelines/processors/*.fixtures.yaml).
import { describe, expect, it } from "vitest";
import { loadFixtures, runCase } from "../../../pipelines/fixtures.js";

for (const fixture of loadFixtures()) {
  describe(`${fixture.processor} (${fixture.file})`, () => {
    for (const testCase of fixture.cases) {
      it(testCase.name, () => {
        for (const [i, step] of runCase(fixture, testCase.name).entries()) {
          expect(step.actual, `step ${i + 1}`).toEqual(step.expected);
        }
      });
    }
  });
}

// The built-in rule pack passes its rule unit tests, and every rule in it carries a runbook.
import { describe, expect, it } from "vitest";
import { loadRuleFiles } from "../../../services/detector/rules/load.js";
import { runRuleTests } from "../../../services/detector/rules/unit-test.js";
import { BUILTIN_RULES } from "../../../services/detector/settings.js";

const PACK_TESTS = BUILTIN_RULES.replace(/\.yaml$/, ".test.yaml");

describe("the built-in rule pack", () => {
  for (const outcome of runRuleTests(PACK_TESTS))
    it(outcome.name, () => expect(outcome.failures).toEqual([]));

  it("gives every rule a runbook", () => {
    for (const rule of loadRuleFiles([BUILTIN_RULES]))
      expect(rule.annotations.runbook, rule.name).toMatch(/^https:\/\//);
  });

  it("is exercised by its tests: every rule is named in at least one test", async () => {
    const { readFileSync } = await import("node:fs");
    const tests = readFileSync(PACK_TESTS, "utf8");
    for (const rule of loadRuleFiles([BUILTIN_RULES]))
      expect(tests, rule.name).toContain(rule.name);
  });
});

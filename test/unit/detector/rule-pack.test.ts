// The shipped rule packs (built-in, AI infrastructure) pass their rule unit tests, and every rule
// in them carries a runbook and is named by a test.
import { describe, expect, it } from "vitest";
import { loadRuleFiles } from "../../../services/detector/rules/load.js";
import { runRuleTests } from "../../../services/detector/rules/unit-test.js";
import { AI_RULES, BUILTIN_RULES } from "../../../services/detector/settings.js";

for (const [pack, RULES] of [
  ["built-in", BUILTIN_RULES],
  ["AI-infrastructure", AI_RULES],
] as const) {
  const PACK_TESTS = RULES.replace(/\.yaml$/, ".test.yaml");

  describe(`the ${pack} rule pack`, () => {
    for (const outcome of runRuleTests(PACK_TESTS))
      it(outcome.name, () => expect(outcome.failures).toEqual([]));

    it("gives every rule a runbook", () => {
      for (const rule of loadRuleFiles([RULES])) {
        const data = {
          labels: { xid_action: "reset_gpu" },
          value: 1,
          threshold: 1,
          rule: rule.name,
        };
        expect(rule.annotations.runbook?.(data), rule.name).toMatch(/^https:\/\/[^ ]+$/);
      }
    });

    it("is exercised by its tests: every rule is named in at least one test", async () => {
      const { readFileSync } = await import("node:fs");
      const tests = readFileSync(PACK_TESTS, "utf8");
      for (const rule of loadRuleFiles([RULES])) expect(tests, rule.name).toContain(rule.name);
    });
  });
}

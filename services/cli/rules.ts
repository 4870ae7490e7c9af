// `vigil rules test` and `vigil rules check`: what `promtool test rules` and `promtool check rules`
// are to Prometheus. Exit code 1 when a test fails or a file is invalid.
import { RuleError, loadRuleFiles } from "../detector/rules/load.js";
import { runRuleTests } from "../detector/rules/unit-test.js";

export function testRules(files: string[]): number {
  let failed = 0;
  let total = 0;
  for (const file of files) {
    console.log(file);
    let outcomes;
    try {
      outcomes = runRuleTests(file);
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      console.log(`  ERROR ${error.message.replaceAll("\n", "\n        ")}`);
      failed++;
      continue;
    }
    for (const outcome of outcomes) {
      total++;
      if (outcome.failures.length === 0) console.log(`  ok    ${outcome.name}`);
      else {
        failed++;
        console.log(`  FAIL  ${outcome.name}`);
        for (const failure of outcome.failures) console.log(`        ${failure}`);
      }
    }
  }
  console.log(failed === 0 ? `SUCCESS: ${total} test(s) passed` : `FAILED: ${failed} of ${total}`);
  return failed === 0 ? 0 : 1;
}

export function checkRules(files: string[]): number {
  try {
    const rules = loadRuleFiles(files);
    console.log(`SUCCESS: ${rules.length} rule(s) in ${files.length} file(s)`);
    return 0;
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    console.log(error.message);
    return 1;
  }
}

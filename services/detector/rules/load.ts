// Reads rule files (YAML), every problem reported at once, each naming the file, the rule and the
// key: `rules.yaml: rules[2] (GpuHot).for: expected a duration like "30s"…`.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { z } from "zod";
import { ruleFileSchema, type Rule } from "./schema.js";

export class RuleError extends Error {}

export function parseRules(text: string, source: string): Rule[] {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new RuleError(`${source}: not valid YAML: ${(error as Error).message}`);
  }
  const parsed = ruleFileSchema.safeParse(raw);
  if (!parsed.success) throw new RuleError(formatIssues(parsed.error.issues, raw, source));
  const seen = new Set<string>();
  const duplicates = parsed.data.rules
    .map((r) => r.name)
    .filter((n) => seen.size === seen.add(n).size);
  if (duplicates.length > 0)
    throw new RuleError(
      `${source}: rule name(s) used twice: ${[...new Set(duplicates)].join(", ")}`,
    );
  return parsed.data.rules;
}

export function loadRuleFiles(paths: string[]): Rule[] {
  const rules = paths.flatMap((path) => {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new RuleError(`${path}: cannot read: ${(error as Error).message}`);
    }
    return parseRules(text, path);
  });
  const names = rules.map((r) => r.name);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0)
    throw new RuleError(`rule name(s) defined in more than one file: ${twice.join(", ")}`);
  return rules;
}

function formatIssues(issues: z.core.$ZodIssue[], raw: unknown, source: string): string {
  const rules = (raw as { rules?: { name?: unknown }[] } | null)?.rules;
  const lines = issues.map((issue) => {
    const [head, index, ...rest] = issue.path;
    let where = issue.path.map(String).join(".") || "(file)";
    if (head === "rules" && typeof index === "number") {
      const name = rules?.[index]?.name;
      where = `rules[${index}]${typeof name === "string" ? ` (${name})` : ""}`;
      if (rest.length > 0) where += `.${rest.map(String).join(".")}`;
    }
    const message =
      issue.code === "unrecognized_keys"
        ? `unknown key(s): ${issue.keys.join(", ")}`
        : issue.message;
    return `${source}: ${where}: ${message}`;
  });
  return lines.join("\n");
}

// Prometheus relabelling with Prometheus 3's semantics: the actions replace, keep, drop,
// keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase and uppercase; fully
// anchored, dot-all regexes (RE2); source labels joined by `separator`; `$1`, `${1}` and `${name}`
// in replacements and target labels; UTF-8 label names. Shared by the relabel processor
// (metric_relabel_configs on a stream) and the scraper (a job's relabel_configs and
// metric_relabel_configs).
import { createHash } from "node:crypto";
import { z } from "zod";
import { labelRegex, labelRegexProblem } from "./label-regex.js";

/** One relabelling rule, as Prometheus writes it (its defaults). */
export const relabelRule = z
  .strictObject({
    action: z
      .enum([
        "replace",
        "keep",
        "drop",
        "keepequal",
        "dropequal",
        "hashmod",
        "labelmap",
        "labeldrop",
        "labelkeep",
        "lowercase",
        "uppercase",
      ])
      .default("replace"),
    source_labels: z.array(z.string()).default([]),
    separator: z.string().default(";"),
    regex: z.string().optional(),
    target_label: z.string().optional(),
    replacement: z.string().optional(),
    modulus: z.number().int().positive().optional(),
  })
  .superRefine((r, ctx) => {
    if (r.action === "keepequal" || r.action === "dropequal")
      for (const key of ["regex", "replacement", "modulus"] as const)
        if (r[key] !== undefined)
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `must be left out for action ${r.action} (it compares source_labels with target_label)`,
          });
  })
  .transform((r) => ({ ...r, regex: r.regex ?? "(.*)", replacement: r.replacement ?? "$1" }))
  .superRefine((r, ctx) => {
    const problem = labelRegexProblem(r.regex);
    if (problem)
      ctx.addIssue({
        code: "custom",
        path: ["regex"],
        message: `not a valid regular expression: ${problem}`,
      });
    if (
      ["replace", "hashmod", "keepequal", "dropequal", "lowercase", "uppercase"].includes(
        r.action,
      ) &&
      !r.target_label
    )
      ctx.addIssue({
        code: "custom",
        path: ["target_label"],
        message: `required for action ${r.action}`,
      });
    if (r.action === "hashmod" && r.modulus === undefined)
      ctx.addIssue({ code: "custom", path: ["modulus"], message: "required for action hashmod" });
  });
export type RelabelRule = z.infer<typeof relabelRule>;

/** Go's regexp.Expand: $1, ${1}, $name, ${name}; an unknown group expands to nothing. */
function expand(template: string, match: RegExpExecArray): string {
  return template.replace(
    /\$(?:\{(\w+)\}|(\w+))|\$\$/g,
    (whole, braced?: string, bare?: string) => {
      if (whole === "$$") return "$";
      const name = braced ?? bare!;
      const value = /^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name];
      return value ?? "";
    },
  );
}

/** Prometheus's sum64(md5(value)): the last 8 bytes of the digest, big-endian. */
function hashmod(value: string, modulus: number): string {
  const digest = createHash("md5").update(value).digest();
  return String(digest.readBigUInt64BE(8) % BigInt(modulus));
}

/** Applies the rules to a label set (with __name__); undefined when the sample is dropped. */
export function relabelLabels(
  rules: RelabelRule[],
  input: Record<string, string>,
): Record<string, string> | undefined {
  const labels = { ...input };
  for (const r of rules) {
    const re = labelRegex(r.regex);
    const value = r.source_labels.map((name) => labels[name] ?? "").join(r.separator);
    switch (r.action) {
      case "keep":
        if (!re.test(value)) return undefined;
        break;
      case "drop":
        if (re.test(value)) return undefined;
        break;
      case "keepequal":
        if ((labels[r.target_label!] ?? "") !== value) return undefined;
        break;
      case "dropequal":
        if ((labels[r.target_label!] ?? "") === value) return undefined;
        break;
      case "replace": {
        const match = re.exec(value);
        if (!match) break;
        const target = expand(r.target_label!, match);
        const result = expand(r.replacement, match);
        // Prometheus 3 takes any UTF-8 name; an empty one is no label.
        if (target === "") break;
        if (result === "") delete labels[target];
        else labels[target] = result;
        break;
      }
      case "lowercase":
        labels[r.target_label!] = value.toLowerCase();
        break;
      case "uppercase":
        labels[r.target_label!] = value.toUpperCase();
        break;
      case "hashmod":
        labels[r.target_label!] = hashmod(value, r.modulus!);
        break;
      case "labelmap":
        for (const [name, v] of Object.entries(labels)) {
          const match = re.exec(name);
          if (match) labels[expand(r.replacement, match)] = v;
        }
        break;
      case "labeldrop":
        for (const name of Object.keys(labels)) if (re.test(name)) delete labels[name];
        break;
      case "labelkeep":
        for (const name of Object.keys(labels)) if (!re.test(name)) delete labels[name];
        break;
    }
  }
  return labels;
}

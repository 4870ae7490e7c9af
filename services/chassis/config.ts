// Service configuration: a YAML/JSON file plus environment overrides, validated against a
// declared zod schema at start-up. Unknown keys are rejected and every error names the key —
// and, when it came from the environment, the variable.
//   VIGIL_CONFIG=path/to/service.yaml
//   VIGIL__KAFKA__BROKERS=127.0.0.1:19092   →  kafka.brokers
//   VIGIL__CONSUMER__MAX_BYTES=1048576      →  consumer.maxBytes
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

export class ConfigError extends Error {
  override name = "ConfigError";
  readonly code = "VGL_CONFIG_INVALID";
}

type Env = Record<string, string | undefined>;
type Tree = Record<string, unknown>;

const ENV_PREFIX = "VIGIL__";
const camel = (segment: string) =>
  segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (typeof next === "object" && next !== null ? next : (node[key] = {})) as Tree;
  }
  node[path[path.length - 1]!] = value;
}

/** An environment value is read as a YAML scalar or flow collection: 3 → number, [a, b] → list. */
function envValue(raw: string): unknown {
  try {
    return parseYaml(raw) ?? raw;
  } catch {
    return raw;
  }
}

export interface LoadOptions {
  env?: Env;
  /** Path of the configuration file; defaults to $VIGIL_CONFIG; none is fine. */
  file?: string;
  /** Values in code below the file and the environment, e.g. a test's. */
  defaults?: Tree;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    const bothObjects = [prev, value].every(
      (v) => typeof v === "object" && v !== null && !Array.isArray(v),
    );
    out[key] = bothObjects ? merge(prev as Tree, value as Tree) : value;
  }
  return out;
}

export function loadConfig<S extends z.ZodType>(schema: S, options: LoadOptions = {}): z.output<S> {
  const env = options.env ?? process.env;
  const file = options.file ?? env.VIGIL_CONFIG;
  let fromFile: Tree = {};
  if (file) {
    try {
      fromFile = (parseYaml(readFileSync(file, "utf8")) ?? {}) as Tree;
    } catch (error) {
      throw new ConfigError(`${file}: cannot read configuration: ${(error as Error).message}`);
    }
  }
  const fromEnv: Tree = {};
  const envNames = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split("__").map(camel);
    setPath(fromEnv, path, envValue(raw));
    envNames.set(path.join("."), name);
  }
  const result = schema.safeParse(merge(merge(options.defaults ?? {}, fromFile), fromEnv));
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const keys = "keys" in issue && Array.isArray(issue.keys) ? issue.keys : [undefined];
    return keys.map((extra) => {
      const path =
        [...issue.path, ...(extra === undefined ? [] : [extra])].map(String).join(".") || "(root)";
      const from = envNames.get(path);
      const message = extra === undefined ? issue.message : "unknown key";
      return `${path}${from ? ` (from ${from})` : file ? ` (in ${file})` : ""}: ${message}`;
    });
  });
  throw new ConfigError(`invalid configuration:\n  ${lines.flat().join("\n  ")}`);
}

/** A duration in milliseconds, given as a number or a string like "30s", "5m", "250ms". */
export const duration = z.union([z.number(), z.string()]).transform((given, ctx) => {
  if (typeof given === "number" && Number.isInteger(given) && given >= 0) return given;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(String(given).trim());
  if (!match) {
    ctx.addIssue({
      code: "custom",
      message: `expected a duration like "30s", "5m" or "250ms", got "${given}"`,
    });
    return z.NEVER;
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as "ms" | "s" | "m" | "h" | "d"
  ];
  return Math.round(Number(match[1]) * unit);
});

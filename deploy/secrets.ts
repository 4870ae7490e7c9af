// Generates the secrets a deployment needs, so none ships with a default or a placeholder:
//   npx tsx deploy/secrets.ts compose      → deploy/compose/.env            (read by Compose)
//   npx tsx deploy/secrets.ts kubernetes   → deploy/kubernetes/base/secrets.env
//                                             (kustomize's secretGenerator makes vigil-secrets)
// Both files are git-ignored and written with mode 600. Values already in the file are kept (run it
// again at will); Vigil's own tokens are generated; the third parties' (Slack, PagerDuty) are
// taken from the environment when set there, else left for you to fill in — the script says which.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface DeploySecret {
  name: string;
  /** What it is, in the file's comment. */
  doc: string;
  /** Generated when absent; otherwise it comes from you (a third party issued it). */
  generated: boolean;
}

export const DEPLOY_SECRETS: DeploySecret[] = [
  {
    name: "VIGIL_INGEST_TOKEN",
    doc: "token HTTP ingest clients (Telegraf) present",
    generated: true,
  },
  {
    name: "VIGIL_API_TOKEN",
    doc: "bearer token of the notifier API (silences, acknowledgements)",
    generated: true,
  },
  {
    name: "INFLUX_TOKEN",
    doc: "InfluxDB API token (Compose: its initial admin token)",
    generated: true,
  },
  { name: "INFLUX_PASSWORD", doc: "InfluxDB admin password (Compose)", generated: true },
  { name: "SLACK_WEBHOOK_URL", doc: "Slack incoming webhook URL", generated: false },
  { name: "PAGERDUTY_ROUTING_KEY", doc: "PagerDuty Events API v2 routing key", generated: false },
];

export const SECRET_FILES = {
  compose: join(import.meta.dirname, "compose", ".env"),
  kubernetes: join(import.meta.dirname, "kubernetes", "base", "secrets.env"),
} as const;

/** KEY=value lines (comments and blank lines ignored). */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

/** The file's contents with every secret present: kept, generated, or from `env`. */
export function secretsFile(
  existing: Record<string, string>,
  env: Record<string, string | undefined>,
): { text: string; missing: string[] } {
  const missing: string[] = [];
  const lines = ["# Vigil's deployment secrets (deploy/secrets.ts). Keep this file private."];
  for (const secret of DEPLOY_SECRETS) {
    let value = existing[secret.name] ?? env[secret.name];
    if (value === undefined && secret.generated) value = randomBytes(24).toString("base64url");
    if (value === undefined) missing.push(secret.name);
    lines.push(`# ${secret.doc}`, `${secret.name}=${value ?? ""}`);
  }
  return { text: `${lines.join("\n")}\n`, missing };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const target = process.argv[2] as keyof typeof SECRET_FILES;
  const file = SECRET_FILES[target];
  if (!file) {
    console.error("usage: npx tsx deploy/secrets.ts compose|kubernetes");
    process.exit(2);
  }
  const existing = existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {};
  const { text, missing } = secretsFile(existing, process.env);
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
  console.log(`wrote ${file}`);
  if (missing.length > 0) console.log(`fill in: ${missing.join(", ")} (issued by those services)`);
}

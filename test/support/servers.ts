// The one place tests learn where Kafka, InfluxDB and Elasticsearch are.
//   1. VIGIL_KAFKA_BROKERS / VIGIL_INFLUX_URL / VIGIL_ES_URL (and credentials) when set;
//   2. otherwise, when a Docker engine answers, testcontainers starts them;
//   3. otherwise the local stack (deploy/local) is brought up.
// A server that cannot be reached is a failure that says how to start it, never a skip.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { SASLOptions } from "kafkajs";
import { loadStackConfig } from "../../deploy/local/config.js";
import { SCRAM_USER } from "../../deploy/local/servers/kafka.js";
import { up } from "../../deploy/local/stack.js";

export type Origin = "environment" | "testcontainers" | "local stack";

export interface KafkaEndpoint {
  brokers: string[];
  ssl: boolean;
  sasl?: SASLOptions;
  origin: Origin;
  /** The local stack's SASL_SSL listener (SCRAM-SHA-512 over TLS), where there is one. */
  secure?: { brokers: string[]; caFile: string; username: string; passwordFile: string };
}
export interface InfluxEndpoint {
  url: string;
  /** InfluxDB 1.8 accepts any token when auth is off, or "user:password" when it is on. */
  token: string;
  org: string;
  origin: Origin;
}
export interface ElasticsearchEndpoint {
  url: string;
  auth?: { apiKey: string } | { username: string; password: string };
  origin: Origin;
}
export interface TestServers {
  kafka: KafkaEndpoint;
  influx: InfluxEndpoint;
  elasticsearch: ElasticsearchEndpoint;
}

type Env = Record<string, string | undefined>;

const HOW_TO_START =
  "Start the local servers with `npm run stack -- up`, or point the tests at yours with " +
  "VIGIL_KAFKA_BROKERS, VIGIL_INFLUX_URL and VIGIL_ES_URL.";

export function kafkaFromEnv(env: Env, origin: Origin = "environment"): KafkaEndpoint | undefined {
  if (!env.VIGIL_KAFKA_BROKERS) return undefined;
  const mechanism = env.VIGIL_KAFKA_SASL_MECHANISM?.toLowerCase();
  if (mechanism && !["plain", "scram-sha-256", "scram-sha-512"].includes(mechanism)) {
    throw new Error(
      `VIGIL_KAFKA_SASL_MECHANISM: expected plain, scram-sha-256 or scram-sha-512, got "${mechanism}"`,
    );
  }
  return {
    brokers: env.VIGIL_KAFKA_BROKERS.split(",").map((b) => b.trim()),
    ssl: env.VIGIL_KAFKA_SSL === "true",
    ...(mechanism && {
      sasl: <SASLOptions>{
        mechanism: mechanism as "plain" | "scram-sha-256" | "scram-sha-512",
        username: env.VIGIL_KAFKA_SASL_USERNAME ?? "",
        password: env.VIGIL_KAFKA_SASL_PASSWORD ?? "",
      },
    }),
    origin,
  };
}

export function influxFromEnv(
  env: Env,
  origin: Origin = "environment",
): InfluxEndpoint | undefined {
  if (!env.VIGIL_INFLUX_URL) return undefined;
  return {
    url: env.VIGIL_INFLUX_URL,
    token: env.VIGIL_INFLUX_TOKEN ?? "",
    org: env.VIGIL_INFLUX_ORG ?? "",
    origin,
  };
}

export function elasticsearchFromEnv(
  env: Env,
  origin: Origin = "environment",
): ElasticsearchEndpoint | undefined {
  if (!env.VIGIL_ES_URL) return undefined;
  const auth = env.VIGIL_ES_API_KEY
    ? { apiKey: env.VIGIL_ES_API_KEY }
    : env.VIGIL_ES_USERNAME
      ? { username: env.VIGIL_ES_USERNAME, password: env.VIGIL_ES_PASSWORD ?? "" }
      : undefined;
  return { url: env.VIGIL_ES_URL, ...(auth && { auth }), origin };
}

export function dockerAnswers(): boolean {
  const result = spawnSync("docker", ["info"], { stdio: "ignore", timeout: 10_000 });
  return result.status === 0;
}

/** The local stack's endpoints, after bringing it up (a quick no-op when already up). */
async function localStack(): Promise<TestServers> {
  const config = loadStackConfig();
  try {
    await up(config);
  } catch (error) {
    throw new Error(
      `The local stack could not be started: ${(error as Error).message}\n${HOW_TO_START}`,
    );
  }
  return {
    kafka: {
      brokers: [`127.0.0.1:${config.kafka.port}`],
      ssl: false,
      origin: "local stack",
      secure: {
        brokers: [`127.0.0.1:${config.kafka.securePort}`],
        caFile: join(config.stateDir, "kafka", "tls", "ca.pem"),
        username: SCRAM_USER,
        passwordFile: join(config.stateDir, "kafka", "tls", "scram-password"),
      },
    },
    influx: {
      url: `http://127.0.0.1:${config.influxdb.port}`,
      token: "",
      org: "",
      origin: "local stack",
    },
    elasticsearch: { url: `http://127.0.0.1:${config.elasticsearch.port}`, origin: "local stack" },
  };
}

export interface Resolved {
  servers: TestServers;
  /** Stops what this resolution started (testcontainers only; the local stack stays up). */
  stop: () => Promise<void>;
}

export async function resolveServers(env: Env = process.env): Promise<Resolved> {
  const kafka = kafkaFromEnv(env);
  const influx = influxFromEnv(env);
  const elasticsearch = elasticsearchFromEnv(env);
  if (kafka && influx && elasticsearch) {
    return { servers: { kafka, influx, elasticsearch }, stop: async () => undefined };
  }
  if (dockerAnswers()) {
    const { startContainers } = await import("./containers.js");
    const started = await startContainers({ kafka, influx, elasticsearch });
    return started;
  }
  const local = await localStack();
  return {
    servers: {
      kafka: kafka ?? local.kafka,
      influx: influx ?? local.influx,
      elasticsearch: elasticsearch ?? local.elasticsearch,
    },
    stop: async () => undefined,
  };
}

export { HOW_TO_START };

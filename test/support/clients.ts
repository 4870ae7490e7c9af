// Real clients for the servers the tests were given.
import { Client as ElasticsearchClient } from "@elastic/elasticsearch";
import { InfluxDB } from "@influxdata/influxdb-client";
import { Kafka, logLevel } from "kafkajs";
import type { ElasticsearchEndpoint, InfluxEndpoint, KafkaEndpoint } from "./servers.js";

export function kafkaClient(endpoint: KafkaEndpoint, clientId = "vigil-test"): Kafka {
  return new Kafka({
    clientId,
    brokers: endpoint.brokers,
    ssl: endpoint.ssl,
    ...(endpoint.sasl && { sasl: endpoint.sasl }),
    logLevel: logLevel.WARN,
  });
}

export function influxClient(endpoint: InfluxEndpoint): InfluxDB {
  return new InfluxDB({ url: endpoint.url, token: endpoint.token });
}

export function elasticsearchClient(endpoint: ElasticsearchEndpoint): ElasticsearchClient {
  return new ElasticsearchClient({
    node: endpoint.url,
    ...(endpoint.auth && { auth: endpoint.auth }),
  });
}

/** A name no other test run uses, for topics, databases and indices. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Names of what tests leave in the stores `npm start` also uses: Elasticsearch indices, data
 * streams and templates start with TEST_INDEX_PREFIX, InfluxDB databases with TEST_DATABASE_PREFIX,
 * and the test run deletes them all at its end (global-setup.ts): `npm start` shows none.
 */
export const TEST_INDEX_PREFIX = "vigil-test-";
export const TEST_DATABASE_PREFIX = "vigil_test";

export const testIndex = (prefix: string) =>
  `${TEST_INDEX_PREFIX}${uniqueName(prefix).toLowerCase()}`;
export const testDatabase = (prefix: string) =>
  `${TEST_DATABASE_PREFIX}_${uniqueName(prefix).replaceAll("-", "_")}`;

/** A loopback port nobody listens on now (for a service told its port, or one that must refuse). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

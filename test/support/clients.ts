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

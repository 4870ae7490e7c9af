// Finds (or starts) the real servers once per `vitest run` and hands them to the integration
// tests through vitest's provide/inject.
import type { TestProject } from "vitest/node";
import { elasticsearchClient, kafkaClient } from "./support/clients.js";
import { HOW_TO_START, resolveServers, type TestServers } from "./support/servers.js";

declare module "vitest" {
  export interface ProvidedContext {
    servers: TestServers;
  }
}

async function reachable(
  name: string,
  where: string,
  probe: () => Promise<unknown>,
): Promise<string> {
  try {
    await probe();
    return "";
  } catch (error) {
    return `${name} at ${where} does not answer: ${(error as Error).message}`;
  }
}

async function describe(servers: TestServers): Promise<string[]> {
  const { kafka, influx, elasticsearch } = servers;
  const admin = kafkaClient(kafka, "vigil-test-setup").admin();
  const problems = await Promise.all([
    reachable("Kafka", kafka.brokers.join(","), async () => {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
    }),
    reachable("InfluxDB", influx.url, async () => {
      const response = await fetch(`${influx.url}/ping`);
      if (response.status !== 204) throw new Error(`/ping answered ${response.status}`);
    }),
    reachable("Elasticsearch", elasticsearch.url, () =>
      elasticsearchClient(elasticsearch).cluster.health(),
    ),
  ]);
  return problems.filter(Boolean);
}

export default async function setup(project: TestProject) {
  const { servers, stop } = await resolveServers();
  const problems = await describe(servers);
  if (problems.length > 0) {
    await stop();
    throw new Error(`Integration servers missing:\n  ${problems.join("\n  ")}\n${HOW_TO_START}`);
  }
  const { kafka, influx, elasticsearch } = servers;
  console.log(
    [
      "integration tests run against real servers:",
      `  Kafka          ${kafka.brokers.join(",")} (${kafka.origin})`,
      `  InfluxDB       ${influx.url} (${influx.origin})`,
      `  Elasticsearch  ${elasticsearch.url} (${elasticsearch.origin})`,
    ].join("\n"),
  );
  project.provide("servers", servers);
  return stop;
}

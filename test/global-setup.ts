// Finds (or starts) the real servers once per `vitest run` and hands them to the integration
// tests through vitest's provide/inject.
import type { TestProject } from "vitest/node";
import { ALL_TOPICS } from "../schemas/topics.js";
import { planTopics } from "../services/cli/topics.js";
import {
  elasticsearchClient,
  kafkaClient,
  TEST_DATABASE_PREFIX,
  TEST_INDEX_PREFIX,
} from "./support/clients.js";
import { influxql } from "./support/influx.js";
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
  const productTopicsBefore = await productTopics(servers);
  return async () => {
    const misshapen = await misshapenProductTopics(servers, productTopicsBefore).finally(() =>
      removeTestData(servers).catch((error: Error) =>
        console.warn(`test data left in the stores: ${error.message}`),
      ),
    );
    await stop();
    // `npm start` then uses these very brokers: a product topic a test created with another
    // layout (a notifier test's remediation ledger, 3 partitions wide) would stay so for good.
    if (misshapen.length > 0)
      throw new Error(
        `tests created product topics unlike the catalogue (tests must use topics of their own):\n  ${misshapen.join("\n  ")}`,
      );
  };
}

async function productTopics({ kafka }: TestServers): Promise<Set<string>> {
  const admin = kafkaClient(kafka, "vigil-test-setup").admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    return new Set(ALL_TOPICS.map((t) => t.name).filter((name) => existing.has(name)));
  } finally {
    await admin.disconnect();
  }
}

/** Product topics made during the run whose partitions differ from what the catalogue declares. */
async function misshapenProductTopics(
  servers: TestServers,
  before: Set<string>,
): Promise<string[]> {
  const admin = kafkaClient(servers.kafka, "vigil-test-setup").admin();
  await admin.connect();
  try {
    const made = ALL_TOPICS.filter((t) => !before.has(t.name));
    const changes = await planTopics(admin, made);
    return changes
      .filter((c) => c.kind === "warning")
      .map((c) => `${c.topic} ${"message" in c ? c.message : ""}`);
  } finally {
    await admin.disconnect();
  }
}

/** What the tests wrote to InfluxDB and Elasticsearch, gone: `npm start` shows none of it. */
async function removeTestData({ influx, elasticsearch }: TestServers): Promise<void> {
  const client = elasticsearchClient(elasticsearch);
  const pattern = `${TEST_INDEX_PREFIX}*`;
  // Elasticsearch 8 refuses wildcards in deletes (action.destructive_requires_name): by name.
  // (A server without data streams — the local stack's distribution — answers 405: none.)
  const streams = await client.indices
    .getDataStream({ name: pattern })
    .then((d) => d.data_streams)
    .catch(() => []);
  if (streams.length > 0)
    await client.indices.deleteDataStream({ name: streams.map((s) => s.name) });
  const indices = Object.keys(
    await client.indices.get({ index: pattern, ignore_unavailable: true, allow_no_indices: true }),
  );
  for (let i = 0; i < indices.length; i += 100)
    await client.indices.delete({ index: indices.slice(i, i + 100) });
  const templates = await client.indices
    .getIndexTemplate({ name: pattern })
    .then((t) => t.index_templates.map((x) => x.name))
    .catch(() => [] as string[]);
  for (const name of templates) await client.indices.deleteIndexTemplate({ name });
  const shown = (await influxql(influx, "SHOW DATABASES")) as {
    results: { series?: { values: [string][] }[] }[];
  };
  for (const [name] of shown.results[0]?.series?.[0]?.values ?? [])
    if (name.startsWith(TEST_DATABASE_PREFIX)) await influxql(influx, `DROP DATABASE "${name}"`);
}

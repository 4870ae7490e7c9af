// A whole-pipeline run's own topics, as the end-to-end tests use them: every catalogue topic
// suffixed with the run's id (3 partitions; compacted where the catalogue compacts), so a run's
// services read and write nothing of npm start's or another test's.
import type { Admin } from "kafkajs";
import { afterAll, beforeAll } from "vitest";
import { stopAll, type Running } from "../../services/launcher/supervisor.js";
import { TOPICS } from "../../schemas/topics.js";
import type { TopicNames } from "../../services/launcher/topology.js";
import { influxql } from "./influx.js";
import { startReceivers, type Receivers } from "./receivers.js";
import type { TestServers } from "./servers.js";

export function runTopics(id: string): TopicNames {
  return Object.fromEntries(
    Object.entries(TOPICS).map(([k, t]) => [k, `${t.name}.${id}`]),
  ) as TopicNames;
}

export async function createRunTopics(admin: Admin, id: string): Promise<TopicNames> {
  const topics = runTopics(id);
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.entries(TOPICS).map(([k, spec]) => ({
      topic: topics[k as keyof TopicNames],
      numPartitions: 3,
      replicationFactor: 1,
      ...(spec.cleanupPolicy === "compact" && {
        configEntries: [{ name: "cleanup.policy", value: "compact" }],
      }),
    })),
  });
  return topics;
}

export interface PipelineRun {
  /** The local receivers (Slack, PagerDuty stand-ins), once started. */
  receivers: Receivers;
  /** The run's services, stopped after the tests. */
  running: Running[];
}

/**
 * Registers (in a describe) what a whole-pipeline run needs around its test: its InfluxDB
 * database, its topics and the local receivers before; its services stopped after.
 */
export function pipelineRun(
  options: { servers: TestServers; admin: Admin; id: string; database: string },
  /** Run once the topics and receivers are there (fixtures of the run). */
  setup?: () => void,
): PipelineRun {
  const run = { running: [] } as unknown as PipelineRun;
  beforeAll(async () => {
    await influxql(options.servers.influx, `CREATE DATABASE "${options.database}"`);
    await options.admin.connect();
    await createRunTopics(options.admin, options.id);
    run.receivers = await startReceivers();
    setup?.();
  }, 60_000);
  afterAll(async () => {
    await stopAll(run.running);
    await run.receivers?.close();
    await options.admin.disconnect();
  }, 120_000);
  return run;
}

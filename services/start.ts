// `npm start`: brings Vigil up on this machine — the local stack of real servers (Kafka,
// InfluxDB, Elasticsearch) from deploy/local, then the topic catalogue on the broker. The
// pipeline's services join here as they land.
import { Kafka, logLevel } from "kafkajs";
import { loadStackConfig } from "../deploy/local/config.js";
import { say } from "../deploy/local/progress.js";
import { formatStatus, up } from "../deploy/local/stack.js";
import { ALL_TOPICS } from "../schemas/topics.js";
import { applyTopics, describeChange, planTopics } from "./cli/topics.js";

const config = loadStackConfig();
try {
  const states = await up(config);
  console.log(`\n${formatStatus(states)}\n`);
  const admin = new Kafka({
    clientId: "vigil-start",
    brokers: [`127.0.0.1:${config.kafka.port}`],
    logLevel: logLevel.WARN,
  }).admin();
  await admin.connect();
  const changes = await planTopics(admin, ALL_TOPICS);
  await applyTopics(admin, changes, 1);
  await admin.disconnect();
  for (const change of changes) say(`topic ${describeChange(change)}`);
  say(`data and logs: ${config.stateDir}`);
  say("stop with: npm run stack -- down");
} catch (error) {
  console.error(`[start] ${(error as Error).message}`);
  process.exit(1);
}

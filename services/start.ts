// `npm start`: brings Vigil up on this machine. Today that is the local stack of real servers
// (Kafka, InfluxDB, Elasticsearch) from deploy/local; the pipeline's services join it as they land.
import { loadStackConfig } from "../deploy/local/config.js";
import { say } from "../deploy/local/progress.js";
import { formatStatus, up } from "../deploy/local/stack.js";

const config = loadStackConfig();
try {
  const states = await up(config);
  console.log(`\n${formatStatus(states)}\n`);
  say(`data and logs: ${config.stateDir}`);
  say("stop with: npm run stack -- down");
} catch (error) {
  console.error(`[start] ${(error as Error).message}`);
  process.exit(1);
}

// npm run bench — every benchmark, one line per figure: BENCH <name> <value> <unit>.
// Round trips run against the servers the tests use (VIGIL_KAFKA_BROKERS, or the local stack).
import { resolveServers } from "../test/support/servers.js";
import { codecBench } from "./codec.bench.js";
import { roundtripBench } from "./roundtrip.bench.js";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
await codecBench();
const { servers, stop } = await resolveServers();
try {
  await roundtripBench(servers.kafka);
} finally {
  await stop();
}
process.exit(0);

// npm run bench — every benchmark, one line per figure: BENCH <name> <value> <unit>.
// Round trips and sink writes run against the servers the tests use (environment or local stack).
import { resolveServers } from "../test/support/servers.js";
import { codecBench } from "./codec.bench.js";
import { detectorBrokerBench } from "./detector-broker.bench.js";
import { detectorBench, detectorLatencyBench } from "./detector.bench.js";
import { ingestFormatsBench } from "./ingest.bench.js";
import { notifierBench } from "./notifier.bench.js";
import { peerGroupBench } from "./peer-group.bench.js";
import { pipelinesBench, pipelinesEndToEndBench } from "./pipelines.bench.js";
import { producersBench } from "./producers.bench.js";
import { regexBench } from "./regex.bench.js";
import { roundtripBench } from "./roundtrip.bench.js";
import { sinksBench } from "./sinks.bench.js";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
await codecBench();
pipelinesBench();
peerGroupBench();
detectorBench();
regexBench();
const { servers, stop } = await resolveServers();
try {
  await roundtripBench(servers.kafka);
  await sinksBench(servers);
  await producersBench(servers.kafka);
  await ingestFormatsBench(servers.kafka);
  await pipelinesEndToEndBench(servers.kafka);
  await detectorLatencyBench(servers.kafka);
  await detectorBrokerBench(servers.kafka);
  await notifierBench(servers.kafka);
} finally {
  await stop();
}
process.exit(0);

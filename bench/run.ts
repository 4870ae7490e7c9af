// npm run bench — every benchmark, one line per figure: BENCH <name> <value> <unit>.
// npm run bench -- --peer telegraf — the side-by-side bench against Telegraf (bench/peer.bench.ts).
// Round trips and sink writes run against the servers the tests use (environment or local stack).
import { resolveServers } from "../test/support/servers.js";
import { codecBench } from "./codec.bench.js";
import { detectorBrokerBench } from "./detector-broker.bench.js";
import { detectorBench, detectorLatencyBench } from "./detector.bench.js";
import { ingestFormatsBench } from "./ingest.bench.js";
import { notifierBench } from "./notifier.bench.js";
import { peerBench } from "./peer.bench.js";
import { peerGroupBench } from "./peer-group.bench.js";
import { pipelinesBench, pipelinesEndToEndBench } from "./pipelines.bench.js";
import { producersBench } from "./producers.bench.js";
import { regexBench } from "./regex.bench.js";
import { roundtripBench } from "./roundtrip.bench.js";
import { sinksBench } from "./sinks.bench.js";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
// `npm run bench -- --peer telegraf`: only the side-by-side bench (minutes; not in the default run).
const peer = process.argv.indexOf("--peer");
if (peer >= 0) {
  if (process.argv[peer + 1] !== "telegraf") {
    console.error("usage: npm run bench -- --peer telegraf");
    process.exit(2);
  }
  const { servers, stop } = await resolveServers();
  try {
    await peerBench(servers);
  } finally {
    await stop();
  }
  process.exit(0);
}
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

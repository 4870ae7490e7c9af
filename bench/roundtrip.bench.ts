// Produce → consume round trips through the real local broker: Vigil's runtime (kafkajs) with
// batched records, the same with one record per sample, and @platformatic/kafka on the same
// batched data — so the client is chosen by numbers. Each run: a fresh 6-partition topic, the
// consumer joined first, the clock from the first send to the last sample decoded.
import { Consumer, MessagesStreamModes, Producer } from "@platformatic/kafka";
import type { Kafka } from "kafkajs";
import { decode, encode } from "../schemas/codec.js";
import type { MetricBatch } from "../schemas/types.js";
import { createProcessingLoop } from "../services/chassis/processing-loop.js";
import { createLogger } from "../services/chassis/logger.js";
import { createMetrics } from "../services/chassis/metrics.js";
import { createProducer } from "../services/chassis/producer.js";
import { consumerSettings } from "../services/chassis/settings.js";
import { kafkaClient, uniqueName } from "../test/support/clients.js";
import type { KafkaEndpoint } from "../test/support/servers.js";
import { bench, scrapeBatch } from "./fixtures.js";

const PARTITIONS = 6;
const SEND_RECORDS = 100;

interface Load {
  records: { key: string; value: Buffer }[];
  samples: number;
}

function load(batches: number, samplesPerRecord: number): Load {
  const records: Load["records"] = [];
  let samples = 0;
  for (let i = 0; i < batches; i++) {
    const batch: MetricBatch = scrapeBatch(
      `node-${i % 64}`,
      samplesPerRecord,
      1_764_000_000_000 + i * 1000,
    );
    records.push({ key: batch.source, value: encode("metric-batch", batch) });
    samples += batch.samples.length;
  }
  return { records, samples };
}

async function topic(kafka: Kafka, prefix: string): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  const name = uniqueName(prefix);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: name, numPartitions: PARTITIONS, replicationFactor: 1 }],
  });
  await admin.disconnect();
  return name;
}

async function vigilRuntime(kafka: Kafka, data: Load, label: string): Promise<void> {
  const name = await topic(kafka, `bench-${label}`);
  const metrics = createMetrics("bench");
  const logger = createLogger("bench", "silent");
  const producer = createProducer(kafka, metrics);
  await producer.connect();
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let joined!: () => void;
  const ready = new Promise<void>((resolve) => (joined = resolve));
  const consumer = createProcessingLoop<MetricBatch>({
    kafka,
    producer,
    settings: consumerSettings.parse({
      groupId: uniqueName("bench"),
      topics: [name],
      concurrency: PARTITIONS,
    }),
    deadLetterTopic: name,
    decode: (_t, value) => decode("metric-batch", value),
    handler: async (records) => {
      for (const r of records) seen += r.decoded.samples.length;
      if (seen >= data.samples) done();
      return {};
    },
    metrics,
    logger,
  });
  const poll = setInterval(() => consumer.notReady() === undefined && joined(), 50);
  await consumer.start();
  await ready;
  clearInterval(poll);

  const start = performance.now();
  for (let i = 0; i < data.records.length; i += SEND_RECORDS) {
    await producer.send(
      data.records.slice(i, i + SEND_RECORDS).map((r) => ({ topic: name, ...r })),
    );
  }
  const produced = performance.now();
  await finished;
  const seconds = (performance.now() - start) / 1000;
  await consumer.stop();
  await producer.disconnect();
  bench(`roundtrip_kafkajs_${label}`, data.samples / seconds, "samples/s");
  bench(`roundtrip_kafkajs_${label}_records`, data.records.length / seconds, "records/s");
  bench(`produce_kafkajs_${label}`, data.samples / ((produced - start) / 1000), "samples/s");
}

async function platformatic(kafka: Kafka, endpoint: KafkaEndpoint, data: Load): Promise<void> {
  const name = await topic(kafka, "bench-platformatic");
  const producer = new Producer({
    clientId: "bench",
    bootstrapBrokers: endpoint.brokers,
    acks: -1,
    compression: "gzip",
  });
  const consumer = new Consumer({
    clientId: "bench",
    groupId: uniqueName("bench-pk"),
    bootstrapBrokers: endpoint.brokers,
  });
  const stream = await consumer.consume({
    topics: [name],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: true,
  });
  let seen = 0;
  const finished = new Promise<void>((resolve) => {
    stream.on("data", (message: { value: Buffer }) => {
      seen += decode("metric-batch", message.value).samples.length;
      if (seen >= data.samples) resolve();
    });
  });
  const start = performance.now();
  for (let i = 0; i < data.records.length; i += SEND_RECORDS) {
    await producer.send({
      messages: data.records
        .slice(i, i + SEND_RECORDS)
        .map((r) => ({ topic: name, key: Buffer.from(r.key), value: r.value })),
    });
  }
  const produced = performance.now();
  await finished;
  const seconds = (performance.now() - start) / 1000;
  await stream.close();
  await consumer.close(true);
  await producer.close();
  bench("roundtrip_platformatic_batched", data.samples / seconds, "samples/s");
  bench("roundtrip_platformatic_batched_records", data.records.length / seconds, "records/s");
  bench("produce_platformatic_batched", data.samples / ((produced - start) / 1000), "samples/s");
}

export async function roundtripBench(endpoint: KafkaEndpoint): Promise<void> {
  const kafka = kafkaClient(endpoint, "vigil-bench");
  const batched = load(800, 250); // 200 000 samples in 800 records
  const perSample = load(20_000, 1); // 20 000 samples, one record each
  await vigilRuntime(kafka, batched, "batched");
  await vigilRuntime(kafka, perSample, "per_sample");
  await platformatic(kafka, endpoint, batched);
  bench("roundtrip_rss_after", process.memoryUsage().rss / 2 ** 20, "MiB");
}

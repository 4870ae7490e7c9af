// The stores go down for real: the local stack's InfluxDB or Elasticsearch process is stopped
// for 30 s in the middle of a stream, then started again. Needs the local stack (our machines
// and CI); against servers from the environment or testcontainers these two are reported skipped.
import { chassisFor } from "../support/services.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encode } from "../../schemas/codec.js";
import type { LogBatch, MetricBatch } from "../../schemas/types.js";
import type { Service } from "../../services/chassis/service.js";
import { startElasticsearchSink } from "../../services/elasticsearch-sink/main.js";
import { elasticsearchSinkSettings } from "../../services/elasticsearch-sink/settings.js";
import { startInfluxSink } from "../../services/influxdb-sink/main.js";
import { influxSinkSettings } from "../../services/influxdb-sink/settings.js";
import { elasticsearchClient, kafkaClient, testIndex, uniqueName } from "../support/clients.js";
import { createDatabase, readPoints } from "../support/influx.js";
import { committedTotal, createTopics, waitFor } from "../support/kafka.js";
import { stopLocalServer } from "../support/outage.js";

const servers = inject("servers");
const kafka = kafkaClient(servers.kafka);
const admin = kafka.admin();
const OUTAGE_MS = 30_000;
const T0 = Date.parse("2026-11-21T00:00:00Z");
const localStack =
  servers.influx.origin === "local stack" && servers.elasticsearch.origin === "local stack";

const metricBatch = (i: number): MetricBatch => ({
  source: `node-${i % 7}`,
  samples: Array.from({ length: 20 }, (_, s) => ({
    name: "gpu_util_percent",
    value: (i * 20 + s) % 100,
    timestamp: T0 + i * 1000,
    labels: { host: `node-${i % 7}`, gpu: String(s) },
    type: "gauge" as const,
    unit: "percent",
    startTimestamp: null,
  })),
});

const logBatch = (i: number): LogBatch => ({
  source: `shipper/node-${i % 7}`,
  events: Array.from({ length: 5 }, (_, e) => ({
    timestamp: T0 + i * 1000 + e,
    severity: "info" as const,
    message: `step ${i}.${e} done`,
    service: "trainer",
    host: `node-${i % 7}`,
    attributes: {},
    traceId: null,
    spanId: null,
  })),
});

async function produceRange(topic: string, from: number, to: number, value: (i: number) => Buffer) {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = from; i < to; i += 25) {
    const ids = Array.from({ length: Math.min(25, to - i) }, (_, k) => i + k);
    await producer.send({
      topic,
      acks: -1,
      messages: ids.map((id) => ({ key: String(id % 7), value: value(id) })),
    });
  }
  await producer.disconnect();
}

/** Small fetches and quick retries, so the outage catches batches in flight and recovery is prompt. */
const sinkConsumer = (groupId: string, topic: string) => ({
  groupId,
  topics: [topic],
  sessionTimeout: "10s",
  maxBytesPerPartition: 16_384,
  retry: { initial: "200ms", max: "2s" },
});

const recordsIn = async (service: Service) =>
  (await service.metrics.recordsIn.get()).values.reduce((sum, v) => sum + v.value, 0);

/** Streams, takes the store down for OUTAGE_MS mid-stream, brings it back, checks the backlog. */
async function throughOutage(
  store: "influxdb" | "elasticsearch",
  topic: string,
  groupId: string,
  service: Service,
  value: (i: number) => Buffer,
) {
  await produceRange(topic, 0, 100, value);
  await waitFor(
    "the first records stored",
    async () => (await committedTotal(admin, groupId, topic)) === 100,
  );

  const restart = await stopLocalServer(store);
  const rssBefore = process.memoryUsage().rss;
  await produceRange(topic, 100, 300, value);
  await new Promise((done) => setTimeout(done, 3_000));
  const heldAtStart = await recordsIn(service);
  await new Promise((done) => setTimeout(done, OUTAGE_MS - 3_000));
  // While the store is down, the backlog stays in Kafka: nothing more is fetched or committed.
  expect(await recordsIn(service)).toBe(heldAtStart);
  expect(await committedTotal(admin, groupId, topic)).toBe(100);
  console.log(
    `${store} outage: RSS ${Math.round(rssBefore / 2 ** 20)} → ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB over ${OUTAGE_MS / 1000}s`,
  );

  await restart();
  await waitFor(
    "the backlog drained",
    async () => (await committedTotal(admin, groupId, topic)) === 300,
    60_000,
  );
}

describe("sinks through a store outage", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it.skipIf(!localStack)(
    "loses and duplicates no point when InfluxDB is stopped for 30 s mid-stream",
    async () => {
      const [topic, dlq] = await createTopics(admin, 3, "outage-influx", "outage-influx-dlq");
      const db = await createDatabase(servers.influx);
      const groupId = uniqueName("outage-influx");
      const service = await startInfluxSink(
        influxSinkSettings.parse({
          ...chassisFor(servers.kafka, dlq),
          consumer: sinkConsumer(groupId, topic!),
          influx: { url: servers.influx.url, bucket: `${db}/autogen`, timeout: "2s" },
        }),
      );
      try {
        await throughOutage("influxdb", topic!, groupId, service, (i) =>
          encode("metric-batch", metricBatch(i)),
        );
      } finally {
        await service.stop();
      }
      const points = await readPoints(servers.influx, db);
      expect(points).toHaveLength(300 * 20);
      expect(new Set(points.map((p) => `${p.tags.host}/${p.tags.gpu}/${p.time}`)).size).toBe(
        300 * 20,
      );
    },
    180_000,
  );

  it.skipIf(!localStack)(
    "loses and duplicates no document when Elasticsearch is stopped for 30 s mid-stream",
    async () => {
      const [topic, dlq] = await createTopics(admin, 3, "outage-es", "outage-es-dlq");
      const base = testIndex("outage");
      const logIndex = `${base}-logs`;
      const groupId = uniqueName("outage-es");
      const service = await startElasticsearchSink(
        elasticsearchSinkSettings.parse({
          ...chassisFor(servers.kafka, dlq),
          consumer: sinkConsumer(groupId, topic!),
          alertTopics: [],
          elasticsearch: {
            url: servers.elasticsearch.url,
            logIndex,
            alertIndex: `${base}-alerts`,
            timeout: "2s",
          },
        }),
      );
      try {
        await throughOutage("elasticsearch", topic!, groupId, service, (i) =>
          encode("log-batch", logBatch(i)),
        );
      } finally {
        await service.stop();
      }
      const es = elasticsearchClient(servers.elasticsearch);
      await es.indices.refresh({ index: `${logIndex}*` });
      const { count } = await es.count({ index: `${logIndex}*` });
      expect(count).toBe(300 * 5);
    },
    240_000,
  );
});

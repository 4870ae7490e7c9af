// OTLP and remote_write into ingest, on the real servers: the OpenTelemetry JS SDK's own OTLP
// exporters (protobuf and JSON) and a remote-write client write to http-ingest; what they sent is
// read back from InfluxDB and Elasticsearch field by field, through Kafka and the sinks.
import { context, trace, TraceFlags } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import {
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";
import { pushTimeseries } from "prometheus-remote-write";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startElasticsearchSink } from "../../../services/elasticsearch-sink/main.js";
import { elasticsearchSinkSettings } from "../../../services/elasticsearch-sink/settings.js";
import { startIngest, type IngestService } from "../../../services/http-ingest/main.js";
import { ingestSettings } from "../../../services/http-ingest/settings.js";
import { startInfluxSink } from "../../../services/influxdb-sink/main.js";
import { influxSinkSettings } from "../../../services/influxdb-sink/settings.js";
import type { Service } from "../../../services/chassis/service.js";
import { elasticsearchClient, kafkaClient, testIndex, uniqueName } from "../../support/clients.js";
import { createDatabase, influxql, readPoints, type StoredPoint } from "../../support/influx.js";
import { createTopics, waitFor } from "../../support/kafka.js";
import { chassisFor } from "../../support/services.js";

const servers = inject("servers");
const kafka = kafkaClient(servers.kafka);
const admin = kafka.admin();
const es = elasticsearchClient(servers.elasticsearch);
const TOKEN = "otlp-test-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

describe("OTLP and remote_write ingest", () => {
  let ingest: IngestService;
  let base: string;
  let db: string;
  const id = testIndex("otlp");
  const logIndex = `${id}-logs`;
  const sinks: Service[] = [];

  beforeAll(async () => {
    await admin.connect();
    const [metricsTopic, logsTopic, dlq] = (await createTopics(
      admin,
      3,
      "otlp-metrics",
      "otlp-logs",
      "otlp-dlq",
    )) as [string, string, string];
    db = await createDatabase(servers.influx);
    process.env.VIGIL_TEST_OTLP_TOKEN = TOKEN;
    ingest = await startIngest(
      ingestSettings.parse({
        ...chassisFor(servers.kafka),
        ingest: { port: 0, token: { env: "VIGIL_TEST_OTLP_TOKEN" }, metricsTopic, logsTopic },
      }),
    );
    base = `http://127.0.0.1:${ingest.ingestPort}`;
    const consumer = (name: string, topic: string) => ({
      groupId: uniqueName(name),
      topics: [topic],
      sessionTimeout: "6s",
      retry: { initial: "100ms", max: "1s" },
    });
    sinks.push(
      await startInfluxSink(
        influxSinkSettings.parse({
          ...chassisFor(servers.kafka),
          topics: { deadLetter: dlq },
          consumer: consumer("otlp-influx", metricsTopic),
          influx: { url: servers.influx.url, org: servers.influx.org, bucket: `${db}/autogen` },
        }),
      ),
      await startElasticsearchSink(
        elasticsearchSinkSettings.parse({
          ...chassisFor(servers.kafka, dlq),
          consumer: consumer("otlp-es", logsTopic),
          alertTopics: [],
          elasticsearch: {
            url: servers.elasticsearch.url,
            logIndex,
            alertIndex: `${id}-alerts`,
          },
        }),
      ),
    );
  }, 60_000);
  afterAll(async () => {
    for (const sink of sinks) await sink.stop();
    await ingest.stop();
    await admin.disconnect();
  });

  const stored = async (measurement: string): Promise<StoredPoint[]> =>
    (await readPoints(servers.influx, db)).filter((p) => p.measurement === measurement);

  async function record(exporter: PushMetricExporter, job: string) {
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({
        "service.name": job,
        "service.instance.id": "rank-0",
        "host.name": "gpu-node-3",
        "k8s.namespace.name": "ml",
        "process.pid": 4242,
      }),
      readers: [reader],
      views: [
        {
          instrumentName: "step.latency",
          aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 8 } },
        },
      ],
    });
    const meter = provider.getMeter("trainer-metrics", "1.2.0");
    const tokens = meter.createCounter("tokens.processed", { unit: "{token}" });
    tokens.add(1000, { "gpu.id": "0" });
    tokens.add(500, { "gpu.id": "0" });
    meter.createUpDownCounter("queue.depth").add(7);
    meter
      .createObservableGauge("gpu.temperature", { unit: "Cel" })
      .addCallback((result) => result.observe(71.5, { "gpu.id": "0" }));
    const batch = meter.createHistogram("batch.time", {
      unit: "s",
      advice: { explicitBucketBoundaries: [0.1, 1, 10] },
    });
    for (const v of [0.05, 0.5, 0.7, 5, 50]) batch.record(v);
    const latency = meter.createHistogram("step.latency", { unit: "ms" });
    for (const v of [1, 2, 4]) latency.record(v);
    // Shutting down flushes once (a flush before it would export the cumulative sums twice).
    await provider.shutdown();
  }

  it("writes metrics from the OpenTelemetry SDK's protobuf exporter to InfluxDB, named and labelled as Prometheus names them", async () => {
    await record(new ProtoMetricExporter({ url: `${base}/v1/metrics`, headers: AUTH }), "trainer");
    const labels = {
      job: "trainer",
      instance: "rank-0",
      host: "gpu-node-3",
      k8s_namespace_name: "ml",
      otel_scope_name: "trainer-metrics",
      otel_scope_version: "1.2.0",
    };
    await waitFor(
      "the points in storage",
      async () => (await stored("step_latency_milliseconds_count")).length > 0,
      20_000,
    );
    expect(await stored("tokens_processed_total")).toEqual([
      expect.objectContaining({ tags: { ...labels, gpu_id: "0" }, value: 1500 }),
    ]);
    expect(await stored("queue_depth")).toEqual([
      expect.objectContaining({ tags: labels, value: 7 }),
    ]);
    expect(await stored("gpu_temperature_celsius")).toEqual([
      expect.objectContaining({ tags: { ...labels, gpu_id: "0" }, value: 71.5 }),
    ]);
    const buckets = await stored("batch_time_seconds_bucket");
    expect(Object.fromEntries(buckets.map((p) => [p.tags.le, p.value]))).toEqual({
      "0.1": 1,
      "1": 3,
      "10": 4,
      "+Inf": 5,
    });
    expect((await stored("batch_time_seconds_sum"))[0]!.value).toBeCloseTo(56.25);
    expect((await stored("batch_time_seconds_count"))[0]!.value).toBe(5);
    // The exponential histogram's buckets as classic ones: cumulative, rising to its count.
    const exp = (await stored("step_latency_milliseconds_bucket"))
      .map((p) => [Number(p.tags.le === "+Inf" ? Infinity : p.tags.le), p.value] as const)
      .sort((a, b) => a[0] - b[0]);
    expect(exp.at(-1)).toEqual([Infinity, 3]);
    for (const [le, count] of [
      [1, 1],
      [2, 2],
      [4, 3],
    ] as const)
      expect(exp.find(([bound]) => bound >= le)![1]).toBe(count);
    expect(exp.map(([, n]) => n)).toEqual([...exp.map(([, n]) => n)].sort((a, b) => a - b));
    // Not promoted: process.pid would make a new series every restart.
    expect(JSON.stringify(await readPoints(servers.influx, db))).not.toContain("process_pid");
  });

  it("takes the same metrics as OTLP/JSON from the SDK's JSON exporter", async () => {
    await record(new JsonMetricExporter({ url: `${base}/v1/metrics`, headers: AUTH }), "json-job");
    await waitFor(
      "the points in storage",
      async () => (await stored("tokens_processed_total")).some((p) => p.tags.job === "json-job"),
      20_000,
    );
    const json = (await readPoints(servers.influx, db)).filter((p) => p.tags.job === "json-job");
    const proto = (await readPoints(servers.influx, db)).filter((p) => p.tags.job === "trainer");
    const shape = (points: StoredPoint[]) =>
      points.map((p) => `${p.measurement} ${p.tags.le ?? ""} ${p.value}`).sort();
    expect(shape(json)).toEqual(shape(proto));
  });

  it("writes the good points of a request, and reports the bad ones in partial_success", async () => {
    const now = `${Date.now()}000000`;
    const response = await fetch(`${base}/v1/metrics`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "application/json" },
      body: JSON.stringify({
        resourceMetrics: [
          {
            resource: { attributes: [{ key: "service.name", value: { stringValue: "partial" } }] },
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: "good.gauge",
                    gauge: { dataPoints: [{ timeUnixNano: now, asInt: "42" }] },
                  },
                  {
                    name: "bad.histogram",
                    histogram: {
                      aggregationTemporality: 2,
                      dataPoints: [
                        {
                          timeUnixNano: now,
                          count: "3",
                          bucketCounts: ["1", "2"],
                          explicitBounds: [],
                        },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const body = (await response.json()) as {
      partialSuccess: { rejectedDataPoints: number; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedDataPoints).toBe(1);
    expect(body.partialSuccess.errorMessage).toContain('metric "bad.histogram" dataPoints[0]');
    await waitFor(
      "the points in storage",
      async () => (await stored("good_gauge")).length > 0,
      20_000,
    );
    expect((await stored("good_gauge"))[0]).toMatchObject({ value: 42, tags: { job: "partial" } });
  });

  it("refuses an unknown body type and a missing token in OTLP's own error shape", async () => {
    const text = await fetch(`${base}/v1/metrics`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "text/plain" },
      body: "x",
    });
    expect(text.status).toBe(415);
    const anonymous = await fetch(`${base}/v1/logs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ code: 16, message: "missing or wrong token" });
    const garbage = await fetch(`${base}/v1/metrics`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "application/x-protobuf" },
      body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
    });
    expect(garbage.status).toBe(400);
  });

  it("writes log records from the OpenTelemetry SDK's exporter to Elasticsearch field by field", async () => {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({
        "service.name": "inference",
        "host.name": "gpu-node-9",
        "k8s.pod.name": "vllm-0",
      }),
      processors: [
        new SimpleLogRecordProcessor({
          exporter: new ProtoLogExporter({ url: `${base}/v1/logs`, headers: AUTH }),
        }),
      ],
    });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const spanId = "00f067aa0ba902b7";
    const inSpan = trace.setSpanContext(context.active(), {
      traceId,
      spanId,
      traceFlags: TraceFlags.SAMPLED,
    });
    const logger = provider.getLogger("vllm.engine", "0.6.0");
    const at = Date.parse("2026-11-30T02:00:00.123Z");
    logger.emit({
      timestamp: at,
      severityNumber: SeverityNumber.ERROR,
      severityText: "ERROR",
      body: "CUDA out of memory <b>rank 3</b>",
      attributes: { "gpu.id": 3, "request.tokens": 8192, retry: true },
      context: inSpan,
    });
    logger.emit({ timestamp: at + 1, severityNumber: SeverityNumber.WARN3, body: { step: 17 } });
    await provider.forceFlush();
    await provider.shutdown();

    let hits: Record<string, unknown>[] = [];
    await waitFor(
      "the points in storage",
      async () => {
        await es.indices.refresh({
          index: `${logIndex}*`,
          ignore_unavailable: true,
          allow_no_indices: true,
        });
        const found = await es.search<Record<string, unknown>>({
          index: `${logIndex}*`,
          sort: [{ "@timestamp": "asc" }],
          ignore_unavailable: true,
          allow_no_indices: true,
        });
        hits = found.hits.hits.map((h) => h._source!);
        return hits.length === 2;
      },
      20_000,
    );
    expect(hits[0]).toMatchObject({
      "@timestamp": "2026-11-30T02:00:00.123Z",
      severity: "error",
      message: "CUDA out of memory <b>rank 3</b>",
      service: "inference",
      host: "gpu-node-9",
      trace: { id: traceId },
      span: { id: spanId },
    });
    expect(JSON.stringify(hits[0])).toContain('"vllm-0"');
    expect(JSON.stringify(hits[0])).toContain('"8192"');
    expect(JSON.stringify(hits[0])).toContain('"vllm.engine"');
    expect(hits[1]).toMatchObject({ severity: "warn", message: '{"step":17}' });
  });

  const REMOTE_WRITE = {
    get url() {
      return `${base}/api/v1/write`;
    },
    headers: AUTH,
    // The client takes node-fetch's shape; Node's own fetch does the same with a Buffer body.
    fetch: (
      url: string,
      init?: { method: string; headers: Record<string, string>; body: ArrayBufferLike },
    ) => fetch(url, { ...init, body: Buffer.from(init!.body) }),
  };

  it("keeps nanosecond precision to InfluxDB: two points 1 ns apart are two points", async () => {
    // A millisecond ending .123, so InfluxDB's RFC 3339 times (trailing zeros cut) read plainly.
    const base_ns = BigInt(Math.floor((Date.now() - 60_000) / 1000) * 1000 + 123) * 1_000_000n;
    const lines = [0n, 1n, 1_000_001n].map((d) => `ns_probe,host=n1 value=${d} ${base_ns + d}`);
    const written = await fetch(`${base}/write?precision=ns`, {
      method: "POST",
      headers: AUTH,
      body: lines.join("\n"),
    });
    expect(written.status).toBe(204);
    await waitFor(
      "the three points in storage",
      async () => (await stored("ns_probe")).length === 3,
      20_000,
    );
    const answer = (await influxql(servers.influx, 'SELECT "value" FROM "ns_probe"', db)) as {
      results: { series: { values: [string, number][] }[] }[];
    };
    const times = answer.results[0]!.series[0]!.values.map(([time]) => time);
    const ms = new Date(Number(base_ns / 1_000_000n)).toISOString().slice(0, -1);
    expect(times).toEqual([`${ms}Z`, `${ms}000001Z`, `${ms.slice(0, -3)}124000001Z`]);
  });

  it("writes what a remote_write client sends to InfluxDB, and reports a series without a name", async () => {
    const t = Date.now() - 5_000;
    const result = await pushTimeseries(
      [
        {
          labels: { __name__: "node_load1", instance: "node-4:9100", job: "node" },
          samples: [
            { value: 0.5, timestamp: t },
            { value: 0.75, timestamp: t + 1_000 },
          ],
        },
        {
          labels: { __name__: "vllm_requests_running", "model.name": "llama", host: "gpu-node-4" },
          samples: [{ value: 3, timestamp: t }],
        },
      ],
      REMOTE_WRITE,
    );
    expect(result.status).toBe(204);
    await waitFor(
      "the points in storage",
      async () => (await stored("vllm_requests_running")).length > 0,
      20_000,
    );
    expect((await stored("node_load1")).map((p) => [p.time - t, p.value, p.tags])).toEqual([
      [0, 0.5, { instance: "node-4:9100", job: "node" }],
      [1_000, 0.75, { instance: "node-4:9100", job: "node" }],
    ]);
    expect((await stored("vllm_requests_running"))[0]!.tags).toEqual({
      model_name: "llama",
      host: "gpu-node-4",
    });

    const unnamed = await pushTimeseries(
      [
        { labels: { __name__: "", job: "x" } as never, samples: [{ value: 1, timestamp: t }] },
        { labels: { __name__: "named_one", job: "x" }, samples: [{ value: 2, timestamp: t }] },
      ],
      REMOTE_WRITE,
    );
    expect(unnamed.status).toBe(400);
    expect(unnamed.errorMessage).toContain("timeseries[0]: labels: no __name__");
    await waitFor(
      "the points in storage",
      async () => (await stored("named_one")).length > 0,
      20_000,
    );
  });
});

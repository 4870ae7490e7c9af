// Ingest end to end, per format: samples/s from HTTP request to Kafka's acknowledgement (acks=all)
// for line protocol, OTLP/HTTP (protobuf) and Prometheus remote_write 1.0 (snappy protobuf),
// 10 000 samples per request, 4 requests in flight, each format into its own 6-partition topic.
import SnappyJS from "snappyjs";
import { encodeMetrics } from "../services/http-ingest/otlp/proto.js";
import { startIngest } from "../services/http-ingest/main.js";
import { WriteRequestV1 } from "../services/http-ingest/remote-write.js";
import { ingestSettings } from "../services/http-ingest/settings.js";
import { kafkaClient, uniqueName } from "../test/support/clients.js";
import type { KafkaEndpoint } from "../test/support/servers.js";
import { chassisFor } from "../test/support/services.js";
import { bench } from "./fixtures.js";

const PER_REQUEST = 10_000;
const REQUESTS = 40;
const T0 = 1_796_000_000_000;

const lineProtocol = (r: number) =>
  Array.from(
    { length: PER_REQUEST / 2 },
    (_, i) =>
      `gpu,host=node-${i % 64},gpu=${i % 8},rank=${i} temperature=${60 + (i % 30)},power=${300 + i}i ${BigInt(T0 + r) * 1_000_000n}`,
  ).join("\n");

const otlp = (r: number) =>
  Buffer.from(
    encodeMetrics({
      resourceMetrics: Array.from({ length: 64 }, (_, h) => ({
        resource: { attributes: [{ key: "host.name", value: { stringValue: `node-${h}` } }] },
        scopeMetrics: [
          {
            metrics: ["gpu.temperature", "gpu.power"].map((name) => ({
              name,
              gauge: {
                dataPoints: Array.from({ length: PER_REQUEST / 128 }, (_, i) => ({
                  timeUnixNano: String(BigInt(T0 + r) * 1_000_000n),
                  asDouble: 60 + (i % 30),
                  attributes: [
                    { key: "gpu", value: { stringValue: String(i % 8) } },
                    { key: "rank", value: { stringValue: String(h * 1000 + i) } },
                  ],
                })),
              },
            })),
          },
        ],
      })),
    }),
  );

const remoteWrite = (r: number) =>
  Buffer.from(
    SnappyJS.compress(
      WriteRequestV1.encode(
        WriteRequestV1.fromObject({
          timeseries: Array.from({ length: PER_REQUEST }, (_, i) => ({
            labels: [
              { name: "__name__", value: i % 2 ? "gpu_power" : "gpu_temperature" },
              { name: "gpu", value: String(i % 8) },
              { name: "host", value: `node-${i % 64}` },
              { name: "rank", value: String(i >> 1) },
            ],
            samples: [{ value: 60 + (i % 30), timestamp: T0 + r }],
          })),
        }),
      ).finish(),
    ),
  );

interface Format {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: (request: number) => Buffer | string;
  expect: number;
}

const FORMATS: Format[] = [
  {
    name: "line_protocol",
    path: "/write?precision=ns",
    headers: {},
    body: lineProtocol,
    expect: 204,
  },
  {
    name: "otlp",
    path: "/v1/metrics",
    headers: { "content-type": "application/x-protobuf" },
    body: otlp,
    expect: 200,
  },
  {
    name: "remote_write",
    path: "/api/v1/write",
    headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
    body: remoteWrite,
    expect: 204,
  },
];

export async function ingestFormatsBench(endpoint: KafkaEndpoint): Promise<void> {
  const admin = kafkaClient(endpoint).admin();
  await admin.connect();
  for (const format of FORMATS) {
    const topic = uniqueName(`bench-${format.name}`);
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
    });
    const ingest = await startIngest(
      ingestSettings.parse({
        ...chassisFor(endpoint),
        ingest: { port: 0, auth: "none", metricsTopic: topic },
      }),
    );
    const bodies = Array.from({ length: REQUESTS }, (_, r) => format.body(r));
    const url = `http://127.0.0.1:${ingest.ingestPort}${format.path}`;
    const start = performance.now();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (sent < REQUESTS) {
          const body = bodies[sent++]!;
          const response = await fetch(url, { method: "POST", body, headers: format.headers });
          if (response.status !== format.expect)
            throw new Error(
              `${format.name}: ingest answered ${response.status}: ${await response.text()}`,
            );
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    await ingest.stop();
    bench(`ingest_${format.name}_samples_per_s`, (REQUESTS * PER_REQUEST) / seconds, "samples/s");
  }
  await admin.disconnect();
}

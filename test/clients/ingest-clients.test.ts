// Real agents writing to http-ingest, built with go install at tagged module versions: Telegraf
// (a custom build with its file input and both InfluxDB outputs) through its v1 output — which
// first sends CREATE DATABASE to /query — and its v2 output; and Prometheus remote-writing its own
// metrics with protocol 1.0 and 2.0, read back from InfluxDB through Kafka and the sink.
// In `npm run test:faults` (called by .ci/run): building the two takes minutes the first time.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode } from "../../schemas/codec.js";
import type { LogEvent, MetricSample } from "../../schemas/types.js";
import type { Service } from "../../services/chassis/service.js";
import { startIngest, type IngestService } from "../../services/http-ingest/main.js";
import { ingestSettings } from "../../services/http-ingest/settings.js";
import { startInfluxSink } from "../../services/influxdb-sink/main.js";
import { influxSinkSettings } from "../../services/influxdb-sink/settings.js";
import { freePort, kafkaClient, uniqueName } from "../support/clients.js";
import { goTool, PROMETHEUS, TELEGRAF } from "../support/go-tools.js";
import { createDatabase, readPoints } from "../support/influx.js";
import { createTopics, readTopic, waitFor } from "../support/kafka.js";
import { chassisFor } from "../support/services.js";

const servers = inject("servers");
const kafka = kafkaClient(servers.kafka);
const admin = kafka.admin();
const TOKEN = "agents-token";
const run = promisify(execFile);

describe("real agents writing to http-ingest", () => {
  let ingest: IngestService;
  let sink: Service;
  let base: string;
  let db: string;
  let metricsTopic: string;
  let logsTopic: string;
  let telegraf: string;
  let prometheusBin: string;
  let prometheus: ReturnType<typeof spawn> | undefined;
  const dir = mkdtempSync(join(tmpdir(), "vigil-agents-"));

  beforeAll(async () => {
    [telegraf, prometheusBin] = await Promise.all([
      goTool(TELEGRAF),
      goTool(PROMETHEUS),
      admin.connect(),
    ]);
    let dlq: string;
    [metricsTopic, logsTopic, dlq] = (await createTopics(
      admin,
      3,
      "agents-metrics",
      "agents-logs",
      "agents-dlq",
    )) as [string, string, string];
    db = await createDatabase(servers.influx);
    process.env.VIGIL_TEST_AGENTS_TOKEN = TOKEN;
    ingest = await startIngest(
      ingestSettings.parse({
        ...chassisFor(servers.kafka),
        ingest: { port: 0, token: { env: "VIGIL_TEST_AGENTS_TOKEN" }, metricsTopic, logsTopic },
      }),
    );
    base = `http://127.0.0.1:${ingest.ingestPort}`;
    sink = await startInfluxSink(
      influxSinkSettings.parse({
        ...chassisFor(servers.kafka),
        topics: { deadLetter: dlq },
        consumer: { groupId: uniqueName("agents-influx"), topics: [metricsTopic] },
        influx: { url: servers.influx.url, org: servers.influx.org, bucket: `${db}/autogen` },
      }),
    );
  }, 1_500_000);
  afterAll(async () => {
    prometheus?.kill("SIGTERM");
    await sink.stop();
    await ingest.stop();
    await admin.disconnect();
  });

  const samples = async () =>
    (await readTopic(kafka, metricsTopic)).flatMap(
      (r) => decode("metric-batch", r.value!).samples as MetricSample[],
    );
  const events = async () =>
    (await readTopic(kafka, logsTopic)).flatMap(
      (r) => decode("log-batch", r.value!).events as LogEvent[],
    );

  const T = 1_796_000_000_000; // 2026-11-30, ms
  const POINTS = [
    `cpu-load,host=tg-node,my-tag=a value=0.5 ${T}000000`,
    `gpu,host=tg-node,gpu=0 temperature=71.5,power=300i ${T}000001`,
    `syslog,host=tg-node,appname=kernel severity="err",message="NVRM: Xid 79, GPU has fallen off the bus.` +
      `\nsecond line" ${T}000000`,
  ].join("\n");

  async function telegrafOnce(output: "v1" | "v2") {
    const points = join(dir, `points-${output}.lp`);
    writeFileSync(points, POINTS + "\n");
    const conf = join(dir, `telegraf-${output}.conf`);
    writeFileSync(
      conf,
      `[global_tags]
  via = "${output}"
[agent]
  omit_hostname = true
[[inputs.file]]
  files = ["${points}"]
  data_format = "influx"
${
  output === "v1"
    ? `[[outputs.influxdb]]
  urls = ["${base}"]
  database = "telegraf"
  username = "telegraf"
  password = "${TOKEN}"`
    : `[[outputs.influxdb_v2]]
  urls = ["${base}"]
  token = "${TOKEN}"
  organization = "vigil"
  bucket = "telegraf"`
}
`,
    );
    const { stderr } = await run(telegraf, ["--config", conf, "--once"], { timeout: 60_000 });
    return stderr;
  }

  it.each(["v1", "v2"] as const)(
    "takes Telegraf's %s InfluxDB output unchanged: numbers as samples, names made valid, string fields as a log event",
    async (output) => {
      const said = await telegrafOnce(output);
      expect(said).not.toMatch(/E! /);
      await waitFor(
        "Telegraf's points on Kafka",
        async () =>
          (await samples()).filter((s) => s.labels.via === output).length >= 3 &&
          (await events()).some((e) => e.attributes.via === output),
        20_000,
      );
      const got = (await samples())
        .filter((s) => s.labels.via === output)
        .map((s) => [s.name, s.value, s.timestamp, s.labels])
        .sort();
      expect(got).toEqual(
        [
          ["cpu_load", 0.5, T, { host: "tg-node", my_tag: "a", via: output }],
          ["gpu_power", 300, T, { host: "tg-node", gpu: "0", via: output }],
          ["gpu_temperature", 71.5, T, { host: "tg-node", gpu: "0", via: output }],
        ].sort(),
      );
      const event = (await events()).find((e) => e.attributes.via === output)!;
      expect(event).toMatchObject({
        severity: "error",
        message: "NVRM: Xid 79, GPU has fallen off the bus.\nsecond line",
        service: "syslog",
        host: "tg-node",
        timestamp: T,
      });
    },
    120_000,
  );

  it("writes what a real Prometheus remote-writes, with protocol 1.0 and 2.0, to InfluxDB", async () => {
    const port = await freePort();
    const remote = (version: string, proto: string) => `  - url: ${base}/api/v1/write
    protobuf_message: ${proto}
    authorization: { credentials: ${TOKEN} }
    queue_config: { batch_send_deadline: 1s }
    write_relabel_configs:
      - { source_labels: [__name__], regex: "prometheus_build_info|up", action: keep }
      - { target_label: rw, replacement: "${version}" }
`;
    writeFileSync(
      join(dir, "prometheus.yml"),
      `global: { scrape_interval: 1s }
scrape_configs:
  - job_name: self
    static_configs: [{ targets: ["127.0.0.1:${port}"] }]
remote_write:
${remote("1.0", "prometheus.WriteRequest")}${remote("2.0", "io.prometheus.write.v2.Request")}`,
    );
    let logs = "";
    prometheus = spawn(
      prometheusBin,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stderr!.on("data", (c: Buffer) => (logs += c.toString()));
    const up = async () =>
      (await readPoints(servers.influx, db)).filter((p) => p.measurement === "up");
    await waitFor(
      "both protocols' samples in InfluxDB",
      async () => new Set((await up()).map((p) => p.tags.rw)).size === 2,
      90_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; Prometheus said:\n${logs.slice(-3000)}`);
    });
    for (const rw of ["1.0", "2.0"]) {
      const points = (await up()).filter((p) => p.tags.rw === rw);
      expect(points[0]).toMatchObject({
        value: 1,
        tags: { job: "self", instance: `127.0.0.1:${port}`, rw },
      });
    }
    const info = (await readPoints(servers.influx, db)).filter(
      (p) => p.measurement === "prometheus_build_info",
    );
    expect(info.length).toBeGreaterThan(0);
    expect(logs).not.toMatch(/non-recoverable error|Failed to send batch/i);
  });
});

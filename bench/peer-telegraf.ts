// Telegraf's side of the peer bench: the same jobs as Telegraf 1.37.2 runs them — its Kafka input
// (line protocol), for agg its basicstats and quantile aggregators (10 s periods, by wall clock),
// its InfluxDB v1 output. The raw job is also the peer of Vigil's pipe job (Telegraf cleans
// nothing on the way).
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { uniqueName } from "../test/support/clients.js";
import { influxql } from "../test/support/influx.js";
import type { TestServers } from "../test/support/servers.js";
import {
  cpuSeconds,
  peakRss,
  query,
  reaches,
  total as sumOf,
  type Figures,
  type Job,
} from "./peer-support.js";

export async function runTelegraf(
  job: Job,
  total: number,
  bin: string,
  servers: TestServers,
  input: string,
  dir: string,
): Promise<Figures> {
  const id = uniqueName("peer").replace(/[^a-z0-9]/g, "");
  const db = `telegraf_bench_${id}`;
  await influxql(servers.influx, `CREATE DATABASE "${db}"`);
  const aggregators =
    job.name === "agg"
      ? `
[[aggregators.basicstats]]
  period = "10s"
  drop_original = true
  grace = "100000h"
  stats = ["count", "mean", "min", "max"]
[[aggregators.quantile]]
  period = "10s"
  drop_original = true
  grace = "100000h"
  quantiles = [0.99]
`
      : "";
  const config = join(dir, `${id}.conf`);
  writeFileSync(
    config,
    `[agent]
  interval = "10s"
  flush_interval = "1s"
  metric_batch_size = 5000
  metric_buffer_limit = ${total}
  omit_hostname = true
  quiet = true
[[inputs.kafka_consumer]]
  brokers = [${servers.kafka.brokers.map((b) => `"${b}"`).join(", ")}]
  topics = ["${input}"]
  consumer_group = "${id}"
  offset = "oldest"
  version = "4.1.0"
  max_undelivered_messages = 10000
  data_format = "influx"
${aggregators}
[[outputs.influxdb]]
  urls = ["${servers.influx.url}"]
  database = "${db}"
  skip_database_creation = true
`,
  );
  const child = spawn(bin, ["--config", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise((done) => child.once("exit", done));
  try {
    const started = performance.now();
    const counted = async () =>
      job.name === "agg"
        ? sumOf(servers.influx, db, "value_count", ".")
        : (await query(servers.influx, db, `SELECT count("value") FROM /./`)).reduce(
            (n, s) => n + Number(s.values[0]?.[1] ?? 0),
            0,
          );
    await reaches(
      `telegraf ${job.name}: samples in InfluxDB`,
      async () => {
        if (child.exitCode !== null) throw new Error(`telegraf exited: ${stderr.slice(-500)}`);
        return counted();
      },
      total,
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      cpuSeconds: cpuSeconds(child.pid!),
      peakRssMiB: peakRss(child.pid!),
      samplesPerS: total / seconds,
    };
  } finally {
    child.kill("SIGTERM");
    await exited;
    await influxql(servers.influx, `DROP DATABASE "${db}"`);
  }
}

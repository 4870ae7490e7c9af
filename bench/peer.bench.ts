// Side by side with Telegraf (`npm run bench -- --peer telegraf`), on the same machine and broker:
// the same samples already in Kafka, in each side's native format (gzip Avro metric batches keyed
// by host for Vigil, line protocol for Telegraf), and two jobs, run alternately:
//   agg: Kafka → 10 s tumbling windows per series (count, mean, min, max, p99) → InfluxDB
//   raw: Kafka → InfluxDB
// Figures: CPU of the processing processes (utime + stime from /proc/<pid>/stat, from when each is
// ready to when the last point is in InfluxDB) per sample, samples/s, peak RSS (VmHWM). Every
// Vigil window is checked against the exact values (p99 within the sketch's relative accuracy);
// Telegraf windows by wall clock, so only its counts are checked (they sum to every sample).
// Size: VIGIL_PEER_HOSTS (1 000) × 10 metrics × VIGIL_PEER_SECONDS (200); VIGIL_PEER_RUNS (3);
// VIGIL_PEER_JOBS (agg,raw). VIGIL_PEER_PROFILE=<dir>: Vigil's processes write CPU profiles there.
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompressionTypes, type Kafka } from "kafkajs";
import { encode } from "../schemas/codec.js";
import type { MetricSample } from "../schemas/types.js";
import { launch, type Running } from "../services/launcher/supervisor.js";
import { kafkaClient, uniqueName } from "../test/support/clients.js";
import { goTool, TELEGRAF_PEER } from "../test/support/go-tools.js";
import { influxql } from "../test/support/influx.js";
import type { InfluxEndpoint, KafkaEndpoint, TestServers } from "../test/support/servers.js";
import { bench } from "./fixtures.js";

const HOSTS = Number(process.env.VIGIL_PEER_HOSTS ?? 1_000);
const SECONDS = Number(process.env.VIGIL_PEER_SECONDS ?? 200);
const RUNS = Number(process.env.VIGIL_PEER_RUNS ?? 3);
const KEYED = process.env.VIGIL_PEER_KEYED ?? "host";
const METRICS = Array.from({ length: 10 }, (_, i) => `peer_metric_${i}`);
const T0 = Date.UTC(2026, 10, 1); // a multiple of 10 s: windows start on it
const WINDOW_MS = 10_000;
const PARTITIONS = 6;
const TOTAL = HOSTS * METRICS.length * SECONDS;
/** The end of the data's last window, in ms: what comes after is the flush (not counted). */
const DATA_END = T0 + SECONDS * 1000;
const TICKS_PER_S = 100; // USER_HZ on Linux

/** A deterministic value per sample: spread, with repeats, so sketches and means are exercised. */
const valueOf = (host: number, metric: number, second: number) =>
  ((host * 7919 + metric * 104_729 + second * 1_299_709) % 10_007) / 10 + metric;

function hostSecond(host: number, second: number): MetricSample[] {
  return METRICS.map((name, m) => ({
    name,
    value: valueOf(host, m, second),
    timestamp: T0 + second * 1000,
    labels: { host: `h${host}` },
    type: "gauge" as const,
    unit: "",
    startTimestamp: null,
  }));
}

function lineProtocol(host: number, second: number): string {
  const ns = `${BigInt(T0 + second * 1000) * 1_000_000n}`;
  return METRICS.map(
    (name, m) => `${name},host=h${host} value=${valueOf(host, m, second)} ${ns}`,
  ).join("\n");
}

async function produce(
  kafka: Kafka,
  topic: string,
  value: (h: number, s: number) => Buffer | string,
  seconds: number[] = Array.from({ length: SECONDS }, (_, s) => s),
) {
  const producer = kafka.producer();
  await producer.connect();
  for (const s of seconds) {
    const messages = Array.from({ length: HOSTS }, (_, h) => ({
      key: `h${h}`,
      value: value(h, s),
    }));
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: messages.slice(i, i + 500),
      });
  }
  await producer.disconnect();
}

interface Usage {
  cpuSeconds: number;
  peakRssMiB: number;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`peer bench: timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

/** Waits for `count()` to reach `target`; fails once it has not moved for `stallMs`. */
async function reaches(
  what: string,
  count: () => Promise<number>,
  target: number,
  stallMs = 60_000,
) {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const n = await count();
    if (n >= target) return;
    if (n !== last) [last, movedAt] = [n, Date.now()];
    else if (Date.now() - movedAt > stallMs)
      throw new Error(
        `peer bench: ${what}: ${n} of ${target}, no progress for ${stallMs / 1000} s`,
      );
    await new Promise((done) => setTimeout(done, 250));
  }
}

type Rows = { series?: { name: string; columns: string[]; values: unknown[][] }[] }[];

async function query(influx: InfluxEndpoint, db: string, q: string) {
  const answer = (await influxql(influx, q, db)) as { results: Rows };
  return answer.results[0]?.series ?? [];
}

/** Sum of a field over every measurement matching a regex, up to a time (0 when none is written yet). */
async function total(
  influx: InfluxEndpoint,
  db: string,
  field: string,
  from: string,
  upTo?: number,
) {
  const until = upTo === undefined ? "" : ` WHERE time <= ${upTo}ms`;
  const series = await query(influx, db, `SELECT sum("${field}") FROM /${from}/${until}`);
  return series.reduce((n, s) => n + Number(s.values[0]?.[1] ?? 0), 0);
}

interface Job {
  name: "agg" | "raw";
  side: "vigil" | "telegraf";
}

interface Figures extends Usage {
  samplesPerS: number;
}

const ready = async (running: Running) => {
  const port = await running.port;
  await until(
    `${running.spec.name} ready`,
    async () =>
      (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true,
    60_000,
  );
};

async function runVigil(
  job: Job,
  servers: TestServers,
  topics: { input: string; dlq: string },
  dir: string,
): Promise<Figures> {
  const id = uniqueName("peer").replace(/[^a-z0-9]/g, "");
  const db = `vigil_bench_${id}`;
  await influxql(servers.influx, `CREATE DATABASE "${db}"`);
  const kafka = { brokers: servers.kafka.brokers };
  const base = {
    kafka,
    http: { port: 0 },
    log: { level: "info" },
    topics: { deadLetter: topics.dlq },
  };
  const aggregated = `${id}-aggregated`;
  const specs =
    job.name === "agg"
      ? [
          {
            name: `${id}-pipelines`,
            script: "pipelines/service.ts",
            config: {
              ...base,
              pipelines: [
                {
                  name: id,
                  inputs: [topics.input],
                  output: aggregated,
                  late: `${id}-late`,
                  repartition: `${id}-repartition`,
                  outputKey: "series",
                  // Keyed by host, as Vigil's ingest and agents key: each host's groups are on one
                  // partition already, so no repartition hop (VIGIL_PEER_KEYED= to measure with it).
                  ...(KEYED && { inputKeyedBy: KEYED }),
                  tick: "500ms",
                  processors: [
                    {
                      "window-aggregate": {
                        groupBy: ["host"],
                        size: "10s",
                        aggregates: ["count", "mean", "min", "max", "p99"],
                      },
                    },
                  ],
                },
              ],
            },
          },
        ]
      : [];
  const admin = kafkaClient(servers.kafka, "vigil-bench").admin();
  await admin.connect();
  if (job.name === "agg")
    await admin.createTopics({
      waitForLeaders: true,
      topics: [aggregated, `${id}-late`].map((topic) => ({
        topic,
        numPartitions: PARTITIONS,
        replicationFactor: 1,
      })),
    });
  await admin.disconnect();
  specs.push({
    name: `${id}-influxdb-sink`,
    script: "services/influxdb-sink/main.ts",
    config: {
      ...base,
      consumer: { groupId: `${id}-sink`, topics: [job.name === "agg" ? aggregated : topics.input] },
      influx: { url: servers.influx.url, bucket: `${db}/autogen` },
    } as never,
  });
  const profile = process.env.VIGIL_PEER_PROFILE;
  const nodeArgs = [
    ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
    ...(process.env.VIGIL_PEER_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
  ];
  const running = specs.map((spec) => launch({ ...spec, nodeArgs }, dir));
  try {
    await Promise.all(running.map(ready));
    const pids = running.map((r) => r.child.pid!);
    const before = pids.map(cpuTicks);
    const started = performance.now();
    const [field, from] = job.name === "agg" ? ["value", "_count$"] : ["value", "."];
    const counted =
      job.name === "agg"
        ? () => total(servers.influx, db, field, from, DATA_END)
        : async () =>
            (
              await query(
                servers.influx,
                db,
                `SELECT count("value") FROM /./ WHERE time < ${DATA_END}ms`,
              )
            ).reduce((n, s) => n + Number(s.values[0]?.[1] ?? 0), 0);
    await reaches(`vigil ${job.name}: samples in InfluxDB`, counted, TOTAL);
    const seconds = (performance.now() - started) / 1000;
    const after = pids.map(cpuTicks);
    const usage: Figures = {
      cpuSeconds: after.reduce((n, t, i) => n + t - before[i]!, 0) / TICKS_PER_S,
      peakRssMiB: pids.reduce((n, pid) => n + peakRss(pid), 0),
      samplesPerS: TOTAL / seconds,
    };
    if (job.name === "agg") await checkWindows(servers.influx, db);
    return usage;
  } finally {
    await Promise.all(running.map((r) => r.stop()));
    await influxql(servers.influx, `DROP DATABASE "${db}"`);
  }
}

/** Every window of every series, against the exact values. */
async function checkWindows(influx: InfluxEndpoint, db: string) {
  const wrong: string[] = [];
  for (const [m, name] of METRICS.entries()) {
    const got = new Map<string, number>();
    for (const aggregate of ["count", "mean", "min", "max", "p99"]) {
      const series = await query(
        influx,
        db,
        `SELECT "value" FROM "${name}_${aggregate}" GROUP BY "host"`,
      );
      for (const s of series as unknown as { tags: { host: string }; values: [string, number][] }[])
        for (const [time, v] of s.values)
          got.set(`${s.tags.host}|${aggregate}|${Date.parse(time)}`, v);
    }
    for (let h = 0; h < HOSTS; h += 1)
      for (let w = 0; w < SECONDS / (WINDOW_MS / 1000); w += 1) {
        const values = Array.from({ length: WINDOW_MS / 1000 }, (_, i) =>
          valueOf(h, m, w * 10 + i),
        );
        const sorted = [...values].sort((a, b) => a - b);
        const exact = {
          count: values.length,
          mean: values.reduce((a, b) => a + b, 0) / values.length,
          min: sorted[0]!,
          max: sorted[sorted.length - 1]!,
          // The rank window-aggregate's sketch (DDSketch) answers: the value at ⌊q·(n − 1)⌋.
          p99: sorted[Math.floor(0.99 * (sorted.length - 1))]!,
        };
        const end = T0 + (w + 1) * WINDOW_MS;
        for (const [aggregate, want] of Object.entries(exact)) {
          const have = got.get(`h${h}|${aggregate}|${end}`);
          const tolerance =
            aggregate === "p99" ? 0.02 * Math.abs(want) : 1e-9 * Math.max(1, Math.abs(want));
          if (have === undefined || Math.abs(have - want) > tolerance)
            wrong.push(`${name}_${aggregate}{host="h${h}"}@${end}: ${have} (exact ${want})`);
        }
      }
  }
  if (wrong.length > 0)
    throw new Error(
      `peer bench: ${wrong.length} windows wrong, e.g. ${wrong.slice(0, 5).join("; ")}`,
    );
}

async function runTelegraf(
  job: Job,
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
  metric_buffer_limit = ${TOTAL}
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
        ? total(servers.influx, db, "value_count", ".")
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
      TOTAL,
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      cpuSeconds: cpuTicks(child.pid!) / TICKS_PER_S,
      peakRssMiB: peakRss(child.pid!),
      samplesPerS: TOTAL / seconds,
    };
  } finally {
    child.kill("SIGTERM");
    await exited;
    await influxql(servers.influx, `DROP DATABASE "${db}"`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function peerBench(servers: TestServers): Promise<void> {
  const bin = await goTool(TELEGRAF_PEER);
  const kafka = kafkaClient(servers.kafka as KafkaEndpoint, "vigil-bench");
  const admin = kafka.admin();
  await admin.connect();
  const id = uniqueName("peer-in");
  const topics = { avro: `${id}-avro`, line: `${id}-line`, dlq: `${id}-dlq` };
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(topics).map((topic) => ({
      topic,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
    })),
  });
  await admin.disconnect();
  console.error(`peer bench: producing ${TOTAL} samples to each side's topic`);
  const avroOf = (h: number, s: number) =>
    encode("metric-batch", { source: `bench/h${h}`, samples: hostSecond(h, s) });
  await produce(kafka, topics.avro, avroOf);
  // Vigil closes windows in event time: one more second per series, a window later, moves every
  // series' watermark past its last window (Telegraf closes by the wall clock). Not counted.
  await produce(kafka, topics.avro, avroOf, [SECONDS + WINDOW_MS / 1000]);
  await produce(kafka, topics.line, lineProtocol);
  const dir = mkdtempSync(join(tmpdir(), "vigil-peer-"));
  const jobs = (process.env.VIGIL_PEER_JOBS ?? "agg,raw").split(",") as ("agg" | "raw")[];
  for (const name of jobs) {
    const runs: Record<"vigil" | "telegraf", Figures[]> = { vigil: [], telegraf: [] };
    for (let i = 0; i < RUNS; i += 1)
      for (const side of ["vigil", "telegraf"] as const) {
        const figures =
          side === "vigil"
            ? await runVigil({ name, side }, servers, { input: topics.avro, dlq: topics.dlq }, dir)
            : await runTelegraf({ name, side }, bin, servers, topics.line, dir);
        runs[side].push(figures);
        console.error(
          `peer bench: ${name} ${side} run ${i + 1}: ${((figures.cpuSeconds / TOTAL) * 1e6).toFixed(2)} CPU-µs/sample, ` +
            `${Math.round(figures.samplesPerS)} samples/s, peak RSS ${Math.round(figures.peakRssMiB)} MiB`,
        );
      }
    const cpu = (side: "vigil" | "telegraf") =>
      median(runs[side].map((f) => (f.cpuSeconds / TOTAL) * 1e6));
    const rss = (side: "vigil" | "telegraf") => median(runs[side].map((f) => f.peakRssMiB));
    const rate = (side: "vigil" | "telegraf") => median(runs[side].map((f) => f.samplesPerS));
    bench(`peer_${name}_vigil_cpu_us_per_sample`, cpu("vigil"), "µs");
    bench(`peer_${name}_telegraf_cpu_us_per_sample`, cpu("telegraf"), "µs");
    bench(`peer_${name}_vigil_samples_per_s`, rate("vigil"), "samples/s");
    bench(`peer_${name}_telegraf_samples_per_s`, rate("telegraf"), "samples/s");
    bench(`peer_${name}_vigil_peak_rss`, rss("vigil"), "MiB");
    bench(`peer_${name}_telegraf_peak_rss`, rss("telegraf"), "MiB");
    bench(`peer_${name}_cpu_ratio`, cpu("vigil") / cpu("telegraf"), "x");
    bench(`peer_${name}_rss_ratio`, rss("vigil") / rss("telegraf"), "x");
  }
}

// Side by side with Telegraf (`npm run bench -- --peer telegraf`), on the same machine and broker:
// the same samples already in Kafka, in each side's native format (gzip Avro metric batches keyed
// by host for Vigil, line protocol for Telegraf), and two jobs, run alternately:
//   agg: Kafka → 10 s tumbling windows per series (count, mean, min, max, p99) → InfluxDB
//   raw: Kafka → InfluxDB
//   pipe: Kafka → pipelines (validate, normalize; exactly once) → Kafka → InfluxDB, against
//         Telegraf's raw job (the same samples stored, Telegraf checking nothing on the way)
// Figures: CPU of the processing processes (utime + stime from /proc/<pid>/stat, from when each is
// ready to when the last point is in InfluxDB) per sample, samples/s, peak RSS (VmHWM). Every
// Vigil window is checked against the exact values (p99 within the sketch's relative accuracy);
// Telegraf windows by wall clock, so only its counts are checked (they sum to every sample).
// Size: VIGIL_PEER_HOSTS (1 000) × 10 metrics × VIGIL_PEER_SECONDS (200); VIGIL_PEER_RUNS (3);
// VIGIL_PEER_JOBS (agg,raw,pipe). VIGIL_PEER_PROFILE=<dir>: Vigil's processes write CPU profiles there.
import { mkdtempSync } from "node:fs";
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
import {
  cpuTicks,
  peakRss,
  query,
  reaches,
  total,
  until,
  type Figures,
  type Job,
} from "./peer-support.js";
import { runTelegraf } from "./peer-telegraf.js";

const HOSTS = Number(process.env.VIGIL_PEER_HOSTS ?? 1_000);
const SECONDS = Number(process.env.VIGIL_PEER_SECONDS ?? 200);
const RUNS = Number(process.env.VIGIL_PEER_RUNS ?? 3);
const KEYED = process.env.VIGIL_PEER_KEYED ?? "host";
/** The pipeline's guarantee: exactly_once, as the acceptance asks (at_least_once to compare). */
const PROCESSING = process.env.VIGIL_PEER_PROCESSING ?? "exactly_once";
const METRICS = Array.from({ length: 10 }, (_, i) => `peer_metric_${i}`);
const T0 = Date.UTC(2026, 10, 1); // a multiple of 10 s: windows start on it
const WINDOW_MS = 10_000;
const PARTITIONS = 6;
const TOTAL = HOSTS * METRICS.length * SECONDS;
/** The end of the data's last window, in ms: what comes after is the flush (not counted). */
const DATA_END = T0 + SECONDS * 1000;

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
  const cleaned = `${id}-cleaned`;
  const pipelines = (pipeline: Record<string, unknown>) => ({
    name: `${id}-pipelines`,
    script: "pipelines/service.ts",
    config: { ...base, pipelines: [{ name: id, inputs: [topics.input], ...pipeline }] },
  });
  const specs =
    job.name === "pipe"
      ? [
          // What raw samples go through before they are stored: checked and normalised, exactly
          // once (a transaction per batch), then written by the sink.
          pipelines({
            output: cleaned,
            stateful: false,
            processing: PROCESSING,
            processors: [
              { validate: { maxAge: "100000h", maxFuture: "100000h" } },
              { normalize: {} },
            ],
          }),
        ]
      : job.name === "agg"
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
                    processing: PROCESSING,
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
  if (job.name !== "raw")
    await admin.createTopics({
      waitForLeaders: true,
      topics: (job.name === "agg" ? [aggregated, `${id}-late`] : [cleaned]).map((topic) => ({
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
      consumer: {
        groupId: `${id}-sink`,
        topics: [{ agg: aggregated, pipe: cleaned, raw: topics.input }[job.name]],
      },
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
      cpuSeconds: after.reduce((n, t, i) => n + t - before[i]!, 0) / 100, // USER_HZ
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
  const jobs = (process.env.VIGIL_PEER_JOBS ?? "agg,raw,pipe").split(",") as Job["name"][];
  for (const name of jobs) {
    const runs: Record<"vigil" | "telegraf", Figures[]> = { vigil: [], telegraf: [] };
    for (let i = 0; i < RUNS; i += 1)
      for (const side of ["vigil", "telegraf"] as const) {
        const figures =
          side === "vigil"
            ? await runVigil({ name, side }, servers, { input: topics.avro, dlq: topics.dlq }, dir)
            : await runTelegraf(
                { name: name === "pipe" ? "raw" : name, side },
                TOTAL,
                bin,
                servers,
                topics.line,
                dir,
              );
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

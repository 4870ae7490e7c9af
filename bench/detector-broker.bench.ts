// The detector through the real broker at 10 k, 100 k and 1 M series, one input partition (one
// task: the figures are per partition, as a partition is the unit that scales): sustained
// samples/s with the built-in pack (and with the 1 000-rule set at 10 k and 100 k series), the
// changelog bytes and keys each commit writes, the time a new instance takes to restore the
// partition's tracks, and the process's RSS.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompressionTypes, type Admin } from "kafkajs";
import { encode } from "../schemas/codec.js";
import type { MetricSample } from "../schemas/types.js";
import type { Service } from "../services/chassis/service.js";
import { startDetector } from "../services/detector/main.js";
import { detectorSettings } from "../services/detector/settings.js";
import { kafkaClient, uniqueName } from "../test/support/clients.js";
import type { KafkaEndpoint } from "../test/support/servers.js";
import { chassisFor } from "../test/support/services.js";
import { ruleText } from "./detector.bench.js";
import { bench } from "./fixtures.js";

const T0 = 1_764_000_000_000;
const PER_RECORD = 500;
const HOSTS_PER_SOURCE = 50;

/**
 * Series i: for the built-in pack, half GPU temperatures (two rules each: threshold, anomaly), half
 * GPU memory (one rule); for the 1 000-rule set, metric m0…m99 (ten rules each).
 */
function sample(i: number, round: number, thousandRules: boolean): MetricSample {
  const value = 40 + ((i * 7 + round) % 40);
  const timestamp = T0 + round * 10_000;
  const common = { value, timestamp, type: "gauge" as const, unit: "", startTimestamp: null };
  if (thousandRules)
    return {
      name: `m${i % 100}`,
      labels: { host: `h${Math.floor(i / 100)}`, dc: "eu", job: "node" },
      ...common,
    };
  return {
    name: i % 16 < 8 ? "gpu_temperature_celsius" : "gpu_memory_used_percent",
    labels: { host: `node-${Math.floor(i / 16)}`, gpu: String(i % 8) },
    ...common,
  };
}

async function produce(
  endpoint: KafkaEndpoint,
  topic: string,
  series: number,
  rounds: number,
  thousandRules: boolean,
) {
  const producer = kafkaClient(endpoint, "vigil-bench").producer();
  await producer.connect();
  let total = 0;
  for (let round = 0; round < rounds; round++) {
    let messages: { key: string; value: Buffer }[] = [];
    for (let start = 0; start < series; start += PER_RECORD) {
      const samples: MetricSample[] = [];
      for (let i = start; i < Math.min(series, start + PER_RECORD); i++)
        samples.push(sample(i, round, thousandRules));
      const source = `source-${Math.floor(start / (PER_RECORD * HOSTS_PER_SOURCE))}`;
      messages.push({ key: source, value: encode("metric-batch", { source, samples }) });
      total += samples.length;
      if (messages.length === 20) {
        await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
        messages = [];
      }
    }
    if (messages.length > 0)
      await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
  }
  await producer.disconnect();
  return total;
}

async function metric(service: Service, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.http.port}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

async function committed(admin: Admin, group: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

interface Run {
  label: string;
  series: number;
  rules?: string[];
  restore?: boolean;
}

async function run(endpoint: KafkaEndpoint, admin: Admin, r: Run): Promise<void> {
  const [input, alerts, state, dlq] = ["in", "alerts", "state", "dlq"].map((p) =>
    uniqueName(`bench-detb-${p}`),
  );
  await admin.createTopics({
    waitForLeaders: true,
    topics: [input!, alerts!, state!, dlq!].map((topic) => ({
      topic,
      numPartitions: 1,
      replicationFactor: 1,
    })),
  });
  const rounds = Math.max(2, Math.ceil(600_000 / r.series));
  const total = await produce(endpoint, input!, r.series, rounds, r.rules !== undefined);
  const name = uniqueName("bench-detb").toLowerCase();
  const settings = detectorSettings.parse({
    ...chassisFor(endpoint, dlq),
    detector: {
      name,
      inputs: [input],
      output: alerts,
      state,
      tick: "5s",
      maxTracks: 10_000_000,
      ...(r.rules && { rules: r.rules }),
    },
  });
  const group = `vigil-detector-${name}`;
  const detector = await startDetector(settings);
  // Offsets count records; samples are PER_RECORD each (the last of a round may hold fewer).
  const records = Math.ceil(r.series / PER_RECORD) * rounds;
  const samplesPerRecord = total / records;
  let first: { at: number; done: number } | undefined;
  let last = { at: performance.now(), done: 0 };
  const deadline = Date.now() + 15 * 60_000;
  while (last.done < records && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 100));
    const done = await committed(admin, group, input!);
    if (done > 0 && !first) first = { at: performance.now(), done };
    if (done !== last.done) last = { at: performance.now(), done };
  }
  const seconds = (last.at - first!.at) / 1000;
  bench(
    `detector_broker_${r.label}samples_per_s_${size(r.series)}_series`,
    ((last.done - first!.done) * samplesPerRecord) / seconds,
    "samples/s",
  );
  const commits = await metric(detector, 'vigil_transactions_total{result="committed"');
  bench(
    `detector_changelog_bytes_per_commit_${r.label}${size(r.series)}_series`,
    (await metric(detector, "vigil_changelog_bytes_total")) / commits,
    "bytes",
  );
  bench(
    `detector_changelog_keys_per_commit_${r.label}${size(r.series)}_series`,
    (await metric(detector, "vigil_changelog_records_total")) / commits,
    "keys",
  );
  const tracks = await metric(detector, "vigil_state_keys");
  bench(`detector_tracks_${r.label}${size(r.series)}_series`, tracks, "tracks");
  bench(
    `detector_broker_rss_${r.label}${size(r.series)}_series`,
    process.memoryUsage().rss / 2 ** 20,
    "MiB",
  );
  await detector.stop();
  if (r.restore) {
    // A new instance takes the partition over: its tracks come back from the changelog.
    const next = await startDetector(settings);
    const until = Date.now() + 10 * 60_000;
    while ((await metric(next, "vigil_state_restore_seconds_count")) < 1 && Date.now() < until)
      await new Promise((done) => setTimeout(done, 200));
    // Named by the series, as the goal is stated; the tracks restored are printed beside it.
    bench(
      `detector_restore_seconds_${size(r.series)}_tracks`,
      await metric(next, "vigil_state_restore_seconds_sum"),
      "s",
    );
    bench(`detector_restore_tracks_${size(r.series)}_series`, tracks, "tracks");
    await next.stop();
  }
  await admin.deleteTopics({ topics: [input!, alerts!, state!, dlq!, `${group}-changelog`] });
}

const size = (n: number) =>
  n >= 1_000_000 ? `${Math.round(n / 1_000_000)}m` : `${Math.round(n / 1_000)}k`;

export async function detectorBrokerBench(endpoint: KafkaEndpoint, only?: number) {
  const ruleFile = join(mkdtempSync(join(tmpdir(), "vigil-bench-")), "rules.yaml");
  writeFileSync(ruleFile, ruleText());
  const admin = kafkaClient(endpoint, "vigil-bench").admin();
  await admin.connect();
  try {
    if (only) return await run(endpoint, admin, { label: "", series: only, restore: true });
    await run(endpoint, admin, { label: "", series: 10_000 });
    await run(endpoint, admin, { label: "", series: 100_000 });
    await run(endpoint, admin, { label: "", series: 1_000_000, restore: true });
    await run(endpoint, admin, { label: "1k_rules_", series: 10_000, rules: [ruleFile] });
    await run(endpoint, admin, { label: "1k_rules_", series: 100_000, rules: [ruleFile] });
  } finally {
    await admin.disconnect();
  }
}

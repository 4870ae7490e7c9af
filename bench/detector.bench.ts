// Detection figures: in-process rule evaluation with 1 000 rules over 10 000 series (samples/s and
// rule evaluations/s on one core), what a partition's state snapshot then weighs and costs, and
// the latency from a sample produced to its alert event readable on the alert topic, through the
// real broker and the detector's transactions (p50/p99).
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode, encode } from "../schemas/codec.js";
import type { MetricSample } from "../schemas/types.js";
import { TaskStores } from "../services/chassis/state-store.js";
import { DetectionEngine, type Track } from "../services/detector/engine.js";
import { trackCodec } from "../services/detector/track-codec.js";
import { startDetector } from "../services/detector/main.js";
import { parseRules } from "../services/detector/rules/load.js";
import { detectorSettings } from "../services/detector/settings.js";
import { kafkaClient, uniqueName } from "../test/support/clients.js";
import type { KafkaEndpoint } from "../test/support/servers.js";
import { chassisFor } from "../test/support/services.js";
import { bench } from "./fixtures.js";

const T0 = 1_764_000_000_000;
const METRICS = 100;
const HOSTS = 100;

/** 10 rules per metric, 100 metrics: thresholds with for, hysteresis, windows, matchers, anomalies. */
export function ruleText(): string {
  const rules: string[] = [];
  for (let m = 0; m < METRICS; m++)
    for (let r = 0; r < 10; r++) {
      const kind = [
        `when: "> ${90 + r}"\n    for: 5m`,
        `when: "> ${80 + r}"\n    recover: "< ${70 + r}"`,
        `when: "< ${r}"\n    consecutive: 3`,
        `reduce: { fn: avg, over: 5m }\n    when: "> ${85 + r}"`,
        `reduce: { fn: p99, over: 5m }\n    when: "> ${95 + r}"`,
        `anomaly: { detector: ewma, warmup: 10, minDeviation: 20 }`,
      ][r % 6]!;
      const select = r % 2 ? `m${m}{host=~"h[0-9]*"}` : `m${m}{dc!="us"}`;
      rules.push(
        `  - name: R${m}_${r}\n    select: '${select}'\n    ${kind}\n    severity: minor\n    annotations: { summary: "{{ $labels.host }} {{ $value }}" }`,
      );
    }
  return `rules:\n${rules.join("\n")}\n`;
}

function round(t: number): MetricSample[] {
  const out: MetricSample[] = [];
  for (let m = 0; m < METRICS; m++)
    for (let h = 0; h < HOSTS; h++)
      out.push({
        name: `m${m}`,
        value: (h * 7 + m + t) % 100,
        timestamp: T0 + t * 10_000,
        labels: { host: `h${h}`, dc: "eu", job: "node" },
        type: "gauge",
        unit: "",
        startTimestamp: null,
      });
  return out;
}

export function detectorBench(): void {
  const rules = parseRules(ruleText(), "bench");
  const stores = new TaskStores("changelog", 0);
  const engine = new DetectionEngine(
    rules,
    { resendEvery: 300_000, maxTracks: 10_000_000 },
    stores.store<Track>("tracks", trackCodec),
  );
  const rounds = Array.from({ length: 25 }, (_, t) => round(t));
  for (const samples of rounds.slice(0, 5)) engine.observe(samples, T0); // warm-up
  let events = 0;
  const start = performance.now();
  let changelogBytes = 0;
  let commits = 0;
  for (const samples of rounds.slice(5))
    for (let i = 0; i < samples.length; i += 500) {
      events += engine.observe(samples.slice(i, i + 500), T0).length;
      // What a commit of this 500-sample batch writes: the tracks it changed, not all of them.
      for (const r of stores.changes()) changelogBytes += r.value?.length ?? 0;
      commits += 1;
    }
  const seconds = (performance.now() - start) / 1000;
  const samples = 20 * METRICS * HOSTS;
  bench("detector_1k_rules_10k_series_in_process", samples / seconds, "samples/s");
  bench("detector_rule_evaluations_in_process", (samples * 10) / seconds, "evaluations/s");
  bench("detector_alert_events_emitted", events, "events");
  bench("detector_tracks", engine.size, "tracks");
  bench("detector_changelog_bytes_per_500_sample_commit", changelogBytes / commits, "bytes");
}

/** Sample produced → alert event readable (committed) on the alert topic, one alert at a time. */
export async function detectorLatencyBench(endpoint: KafkaEndpoint): Promise<void> {
  const kafka = kafkaClient(endpoint, "vigil-bench");
  const admin = kafka.admin();
  await admin.connect();
  const [input, alerts, state, changelog, dlq] = ["in", "alerts", "state", "changelog", "dlq"].map(
    (p) => uniqueName(`bench-det-${p}`),
  );
  await admin.createTopics({
    waitForLeaders: true,
    topics: [input!, alerts!, state!, changelog!, dlq!].map((topic) => ({
      topic,
      numPartitions: 3,
      replicationFactor: 1,
    })),
  });
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-"));
  writeFileSync(
    join(dir, "rules.yaml"),
    'rules:\n  - name: Hot\n    select: temp\n    when: "> 85"\n    severity: critical\n    annotations: { summary: hot }\n',
  );
  const name = uniqueName("bench-det").toLowerCase();
  const detector = await startDetector(
    detectorSettings.parse({
      ...chassisFor(endpoint, dlq),
      detector: {
        name,
        inputs: [input],
        output: alerts,
        state,
        changelog,
        rules: [join(dir, "rules.yaml")],
        tick: "1s",
      },
    }),
  );
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName("bench-det-reader"), maxWaitTimeInMs: 10 });
  await consumer.connect();
  await consumer.subscribe({ topics: [alerts!], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const alert = decode("alert", message.value);
      const started = sentAt.get(alert.labels.host!);
      if (started !== undefined && alert.status === "firing" && !alert.resend)
        latencies.push(performance.now() - started);
    },
  });
  const producer = kafka.producer();
  await producer.connect();
  const total = 300;
  for (let i = 0; i < total; i++) {
    const host = `h${i}`;
    sentAt.set(host, performance.now());
    const sample: MetricSample = {
      name: "temp",
      value: 90,
      timestamp: T0 + i,
      labels: { host },
      type: "gauge",
      unit: "",
      startTimestamp: null,
    };
    await producer.send({
      topic: input!,
      acks: -1,
      messages: [{ key: host, value: encode("metric-batch", { source: host, samples: [sample] }) }],
    });
    await new Promise((done) => setTimeout(done, 20));
  }
  const deadline = Date.now() + 30_000;
  while (latencies.length < total && Date.now() < deadline)
    await new Promise((done) => setTimeout(done, 100));
  latencies.sort((a, b) => a - b);
  const pct = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  bench("detector_sample_to_alert_p50", pct(0.5), "ms");
  bench("detector_sample_to_alert_p99", pct(0.99), "ms");
  bench("detector_sample_to_alert_received", latencies.length, `of ${total}`);
  await producer.disconnect();
  await consumer.disconnect();
  await detector.stop();
  await admin.disconnect();
}

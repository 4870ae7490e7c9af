// Kafka stopped for 60 s under load (the three-node cluster of `npm run stack -- up --brokers 3`,
// every broker stopped at once): ingest and a host agent keep what they collect in their on-disk
// edge buffers — ingest restarted mid-outage, its buffer surviving — and hand it over in order when
// Kafka is back. Every line written meanwhile arrives, and the agent misses no tick. Exactly once,
// except what was on the wire as the brokers went down: a send a stopping broker appended but
// never acknowledged is sent again from the buffer (at least once, as the edge buffer says; the
// sinks write idempotently) — the test allows a repeat only there, and says how many.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, type StackConfig } from "../../deploy/local/config.js";
import { runningPid } from "../../deploy/local/process.js";
import { localServers } from "../../deploy/local/registry.js";
import { up } from "../../deploy/local/stack.js";
import { decode } from "../../schemas/codec.js";
import type { MetricSample } from "../../schemas/types.js";
import type { BufferedProducer } from "../../services/chassis/edge-buffer.js";
import type { Service } from "../../services/chassis/service.js";
import { startHostAgent } from "../../services/host-agent/main.js";
import { hostAgentSettings } from "../../services/host-agent/settings.js";
import { startIngest, type IngestService } from "../../services/http-ingest/main.js";
import { ingestSettings } from "../../services/http-ingest/settings.js";
import { uniqueName } from "../support/clients.js";
import { readTopic, waitFor } from "../support/kafka.js";

const config: StackConfig = loadStackConfig();
config.kafka.nodes = 3;
const nodes = localServers(config).filter((s) => s.name.startsWith("kafka-"));
const brokers = nodes.map((n) => n.endpoint);
const kafka = new Kafka({ clientId: "edge", brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const OUTAGE_MS = 60_000;

async function stopAllBrokers(): Promise<void> {
  for (const node of nodes) {
    const pid = runningPid(node.pidFile, node.marker);
    if (pid !== undefined) process.kill(-pid, "SIGTERM");
  }
  await waitFor(
    "every broker stopped",
    async () => nodes.every((n) => runningPid(n.pidFile, n.marker) === undefined),
    60_000,
  );
}

describe("the edge buffer with Kafka stopped for 60 s", () => {
  beforeAll(async () => {
    await up(config);
    await admin.connect();
  }, 240_000);
  afterAll(async () => {
    await up(config);
    await admin.disconnect();
  }, 240_000);

  it("loses nothing written or collected meanwhile, and repeats only what was in flight as the brokers stopped", async () => {
    const topic = uniqueName("edge-metrics");
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 3, replicationFactor: 3 }],
    });
    const dir = mkdtempSync(join(tmpdir(), "vigil-edge-"));
    const chassis = { kafka: { brokers }, http: { port: 0 }, log: { level: "warn" as const } };
    const ingestConfig = ingestSettings.parse({
      ...chassis,
      ingest: {
        port: 0,
        auth: "none",
        metricsTopic: topic,
        edgeBuffer: { dir: join(dir, "ingest") },
      },
    });
    let ingest: IngestService = await startIngest(ingestConfig);
    const agentHost = uniqueName("edge-host");
    const agent: Service = await startHostAgent(
      hostAgentSettings.parse({
        ...chassis,
        agent: {
          interval: "1s",
          host: agentHost,
          topic,
          edgeBuffer: { dir: join(dir, "agent") },
        },
      }),
    );

    // The load: 20 lines every 100 ms, each request retried until it is answered 204 (as
    // Telegraf retries), its lines numbered.
    let next = 0;
    let loading = true;
    let restarting = false;
    const answered: number[] = [];
    /** Each request's first line, first attempt and answer: what was on the wire, when. */
    const requests: { first: number; from: number; to: number }[] = [];
    const load = (async () => {
      while (loading) {
        const first = next;
        next += 20;
        const body = Array.from(
          { length: 20 },
          (_, i) => `edge_load,src=test seq=${first + i} ${(Date.now() + i) * 1e6}`,
        ).join("\n");
        const from = Date.now();
        for (;;) {
          const status = restarting
            ? 0
            : await fetch(`http://127.0.0.1:${ingest.ingestPort}/write`, {
                method: "POST",
                body,
              }).then(
                (r) => r.status,
                () => 0,
              );
          if (status === 204) break;
          await sleep(200);
        }
        answered.push(first);
        requests.push({ first, from, to: Date.now() });
        await sleep(100);
      }
    })();

    await sleep(5_000);
    const stoppingFrom = Date.now();
    await stopAllBrokers();
    const stoppedAt = Date.now();
    const onTheWire = (from: number, to: number) => from <= stoppedAt && to >= stoppingFrom - 1_000;
    await sleep(OUTAGE_MS / 2);
    // Ingest restarts while Kafka is still away: what it kept is on disk, not in memory.
    restarting = true;
    const keptBefore = (ingest.producer as BufferedProducer).pending();
    await ingest.stop();
    ingest = await startIngest(ingestConfig);
    restarting = false;
    expect((ingest.producer as BufferedProducer).pending()).toBeGreaterThanOrEqual(keptBefore);
    expect(keptBefore).toBeGreaterThan(0);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
    await up(config);
    await sleep(5_000); // load goes on once Kafka is back
    loading = false;
    await load;
    await waitFor(
      "both buffers drained",
      async () =>
        (ingest.producer as BufferedProducer).pending() === 0 &&
        (agent.producer as BufferedProducer).pending() === 0,
      180_000,
    );
    await agent.stop();
    await ingest.stop();

    const samples = (await readTopic(kafka, topic)).flatMap(
      (r) => decode("metric-batch", r.value!).samples as MetricSample[],
    );
    const seqs = samples.filter((s) => s.name === "edge_load_seq").map((s) => s.value);
    expect(new Set(seqs).size).toBe(next); // every line, none lost
    const twice = seqs.length - next;
    const seen = new Set<number>();
    const repeated = new Set(seqs.filter((v) => seen.size === seen.add(v).size));
    for (const seq of repeated) {
      const request = requests.find((r) => seq >= r.first && seq < r.first + 20)!;
      expect(onTheWire(request.from, request.to), `line ${seq} repeated`).toBe(true);
    }
    // The agent's ticks: one batch a second, none missing across the outage; a repeat only of a
    // batch sent as the brokers went down.
    const collected = samples.filter((s) => s.labels.host === agentHost);
    const ids = collected.map((s) => `${s.name}${JSON.stringify(s.labels)}@${s.timestamp}`);
    const known = new Set<string>();
    const again = collected.filter((_, i) => known.size === known.add(ids[i]!).size);
    for (const sample of again)
      expect(
        onTheWire(sample.timestamp, sample.timestamp + 2_000),
        `tick ${sample.timestamp}`,
      ).toBe(true);
    console.log(
      `edge buffer: ${next} lines, ${twice} sent twice (in flight as the brokers stopped); ${again.length} agent samples twice`,
    );
    const ticks = [...new Set(collected.map((s) => s.timestamp))].sort((a, b) => a - b);
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!);
    expect(Math.max(...gaps)).toBeLessThan(2_500);
    expect(ticks[0]!).toBeLessThan(stoppedAt);
    expect(ticks.at(-1)!).toBeGreaterThan(stoppedAt + OUTAGE_MS);
  });
});

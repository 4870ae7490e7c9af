// Helpers for tests that drive real topics: create them, fill them, read them back whole.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { Admin, Kafka } from "kafkajs";
import { decode, encode } from "../../schemas/codec.js";
import type { MetricBatch } from "../../schemas/types.js";
import { readToEnd, topicOffsets } from "../../services/chassis/read-to-end.js";
import { uniqueName } from "./clients.js";
import type { KafkaEndpoint } from "./servers.js";

export async function createTopics(
  admin: Admin,
  partitions: number | { partitions: number; configEntries: { name: string; value: string }[] },
  ...prefixes: string[]
): Promise<string[]> {
  const names = prefixes.map((p) => uniqueName(p));
  const { partitions: numPartitions, configEntries } =
    typeof partitions === "number" ? { partitions, configEntries: [] } : partitions;
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: names.map((topic) => ({ topic, numPartitions, replicationFactor: 1, configEntries })),
    });
  } catch (error) {
    // A broker just started may create the topics yet not know it leads them ("does not host
    // this topic-partition"): wait for the leaders as the product does; a real failure still throws.
    if (!(error as { retriable?: boolean }).retriable) throw error;
  }
  for (const name of names) await topicOffsets(admin, name);
  return names;
}

/** A one-sample metric batch whose source is `id`: the id travels through the pipeline. */
export function metricRecord(id: string): { key: string; value: Buffer } {
  const batch: MetricBatch = {
    source: id,
    samples: [
      {
        name: "gpu_temperature_celsius",
        value: 70,
        timestamp: 1_700_000_000_000,
        labels: { gpu: "0" },
        type: "gauge",
        unit: "celsius",
        startTimestamp: null,
      },
    ],
  };
  return { key: id, value: encode("metric-batch", batch) };
}

export async function produceIds(
  kafka: Kafka,
  topic: string,
  ids: string[],
  perSend = 50,
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < ids.length; i += perSend) {
    await producer.send({ topic, acks: -1, messages: ids.slice(i, i + perSend).map(metricRecord) });
  }
  await producer.disconnect();
}

/** Metric batches onto a topic, each keyed by its source. */
export async function produceBatches(
  kafka: Kafka,
  topic: string,
  batches: MetricBatch[],
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: batches.map((b) => ({ key: b.source, value: encode("metric-batch", b) })),
  });
  await producer.disconnect();
}

/** Number of records in a topic (sum of high watermarks; topics in tests are never truncated). */
export async function recordCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await topicOffsets(admin, topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Every record in the topic right now, read with a throwaway consumer group. */
export async function readTopic(kafka: Kafka, topic: string): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  await readToEnd(
    kafka,
    topic,
    (messages, partition) => {
      for (const message of messages) {
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value,
          headers: Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          ),
        });
      }
    },
    // What is committed now: a producer a test killed may hold an open transaction for a while.
    { group: "vigil-test-reader", onStall: "stop", stallMs: 10_000 },
  );
  return records.sort((x, y) => x.partition - y.partition || Number(x.offset) - Number(y.offset));
}

/**
 * Whether `group` has committed past every record in `topic` — counting data records, not the
 * transaction markers a transactional writer leaves after them (which high watermarks include).
 */
export async function consumedAll(
  admin: Admin,
  kafka: Kafka,
  group: string,
  topic: string,
): Promise<boolean> {
  const last = new Map<number, number>();
  for (const r of await readTopic(kafka, topic)) last.set(r.partition, Number(r.offset));
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const at = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
  return [...last].every(([partition, offset]) => (at.get(partition) ?? -1) > offset);
}

export const idsOf = (records: ReadRecord[]) =>
  records.map((r) => decode("metric-batch", r.value).source);

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

export interface ChildService {
  child: ChildProcess;
  /** Port of its health endpoint, once it has logged "service started". */
  port: Promise<number>;
  exited: Promise<number | null>;
  stderr: () => string;
}

const children = new Set<ChildProcess>();
// A test that times out never reaches its `finally`: no child may outlive the test worker.
process.once("exit", () => children.forEach((child) => child.kill("SIGKILL")));

/** Runs a service script as a real process (tsx), with its configuration in the environment. */
export function spawnService(
  script: string,
  endpoint: KafkaEndpoint,
  env: Record<string, string>,
): ChildService {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: {
      ...process.env,
      VIGIL__KAFKA__BROKERS: endpoint.brokers.join(","),
      VIGIL__HTTP__PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let errors = "";
  child.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (process.env.VIGIL_TEST_CHILD_LOGS) process.stdout.write(`[child ${child.pid}] ${line}\n`);
      if (line.includes('"service started"')) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once("exit", (code) =>
      reject(new Error(`service exited (${code}) before starting: ${errors}`)),
    );
  });
  port.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, port, exited, stderr: () => errors };
}

/** Sum of a group's committed offsets on a topic (uncommitted partitions count 0). */
export async function committedTotal(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<number> {
  // Right after a broker restart the group coordinator is still loading: answers marked
  // retriable (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) are asked again, for up to ~30 s.
  for (let attempt = 1; ; attempt++) {
    try {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    } catch (error) {
      if (attempt >= 30 || !(error as { retriable?: boolean }).retriable) throw error;
      await new Promise((done) => setTimeout(done, 1_000));
    }
  }
}

// A three-node KRaft cluster (`npm run stack -- up --brokers 3`; replication 3, min in sync 2) and a
// pipeline on it. Mid-stream, the broker leading the partition the pipeline reads — then the one
// it writes, then the one it reads again — is killed with -9 and restarted. Every sample the
// producer had acknowledged comes out of the pipeline, and exactly once.
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, type StackConfig } from "../../deploy/local/config.js";
import { runningPid } from "../../deploy/local/process.js";
import { localServers } from "../../deploy/local/registry.js";
import { up } from "../../deploy/local/stack.js";
import { pipelineSettings } from "../../pipelines/config.js";
import { startPipelines } from "../../pipelines/service.js";
import { decode } from "../../schemas/codec.js";
import type { Service } from "../../services/chassis/service.js";
import { uniqueName } from "../support/clients.js";
import { committedTotal, metricRecord, readTopic, recordCount, waitFor } from "../support/kafka.js";
import { chassisFor } from "../support/services.js";

const config: StackConfig = loadStackConfig();
config.kafka.nodes = 3;
const nodes = localServers(config).filter((s) => s.name.startsWith("kafka-"));
const brokers = nodes.map((n) => n.endpoint);
const kafka = new Kafka({ clientId: "faults", brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function leaderOf(topic: string): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]!.partitions[0]!.leader;
}

/** kill -9 of the node's whole process group, then the stack starts it again. */
async function killAndRestart(nodeId: number, topics: string[]): Promise<void> {
  const node = nodes[nodeId - 1]!;
  const pid = runningPid(node.pidFile, node.marker);
  if (pid === undefined) throw new Error(`${node.name} is not running`);
  process.kill(-pid, "SIGKILL");
  await sleep(4_000);
  await up(config);
  // Back in sync before the next kill: otherwise two dead replicas would be one too many.
  await waitFor(
    `${node.name} in sync again`,
    async () => {
      const metadata = await admin.fetchTopicMetadata({ topics });
      return metadata.topics.every((t) =>
        t.partitions.every((p) => p.isr.length === p.replicas.length),
      );
    },
    90_000,
  );
}

describe("a pipeline on a three-node cluster", () => {
  beforeAll(async () => {
    await up(config);
    await admin.connect();
  }, 240_000);
  afterAll(async () => {
    await admin.disconnect();
  });

  it("delivers every acknowledged sample exactly once while partition leaders are killed three times", async () => {
    const [input, output, dlq] = ["ft-in", "ft-out", "ft-dlq"].map(uniqueName);
    await admin.createTopics({
      waitForLeaders: true,
      topics: [input, output, dlq].map((topic) => ({
        topic: topic!,
        numPartitions: 1,
        replicationFactor: 3,
      })),
    });
    const name = uniqueName("failover");
    const endpoint = { brokers, ssl: false, origin: "local stack" as const };
    const pipeline: Service = await startPipelines(
      pipelineSettings.parse({
        ...chassisFor(endpoint, dlq),
        pipelines: [
          {
            name,
            inputs: [input],
            output,
            sessionTimeout: "10s",
            processors: [{ validate: { maxAge: "100000h", maxFuture: "24000h" } }],
          },
        ],
      }),
    );
    // Not kafkajs's idempotent mode: after a failed send it can reuse a sequence number, and the
    // broker then drops the next batch as a "duplicate" that kafkajs reports as acknowledged —
    // a loss at the producer, before any of Vigil. A plain producer may write a batch twice
    // instead; so the pipeline is held to "as many times out as in", and "every acknowledged
    // sample out".
    const producer = kafka.producer({ maxInFlightRequests: 1 });
    await producer.connect();
    const acknowledged: string[] = [];
    let failed = 0;
    let producing = true;
    const produce = (async () => {
      for (let batch = 0; producing; batch++) {
        const ids = Array.from({ length: 20 }, (_, i) => `s${batch}-${i}`);
        try {
          await producer.send({ topic: input!, acks: -1, messages: ids.map(metricRecord) });
          acknowledged.push(...ids);
        } catch {
          failed += ids.length; // not acknowledged: may be in the input or not
        }
        await sleep(20);
      }
    })();
    try {
      await sleep(3_000);
      for (const topic of [input!, output!, input!]) {
        await killAndRestart(await leaderOf(topic), [input!, output!]);
        await sleep(2_000);
      }
      producing = false;
      await produce;
      const written = await recordCount(admin, input!);
      await waitFor(
        "the pipeline through its input",
        async () => (await committedTotal(admin, `vigil-pipeline-${name}`, input!)) === written,
        120_000,
      );
    } finally {
      producing = false;
      await produce;
      await producer.disconnect();
      await pipeline.stop();
    }
    const out = (await readTopic(kafka, output!)).map(
      (r) => decode("metric-batch", r.value).source,
    );
    console.log(
      `leader failover: ${acknowledged.length} samples acknowledged, ${failed} not, ${out.length} out`,
    );
    const inputs = (await readTopic(kafka, input!)).map(
      (r) => decode("metric-batch", r.value).source,
    );
    const counts = (ids: string[]) => {
      const n = new Map<string, number>();
      for (const id of ids) n.set(id, (n.get(id) ?? 0) + 1);
      return n;
    };
    expect(acknowledged.length).toBeGreaterThan(1_000);
    const arrived = counts(out);
    expect(acknowledged.filter((id) => !arrived.has(id))).toEqual([]); // none lost
    expect(arrived).toEqual(counts(inputs)); // none twice: each as often as it was read
  }, 600_000);
});

// Pipeline figures: in-process throughput of validate → normalize → window-aggregate (samples/s on
// one core: this process is single-threaded), the same end to end through the broker (produced,
// run by the pipeline service, committed), and the memory (RSS) held with 100 000 active series
// in open windows.
import { chassisFor } from "../test/support/services.js";
import { buildChain, runChain } from "../pipelines/chain.js";
import { pipelineSettings } from "../pipelines/config.js";
import { startPipelines } from "../pipelines/service.js";
import { encode } from "../schemas/codec.js";
import { kafkaClient, uniqueName } from "../test/support/clients.js";
import type { KafkaEndpoint } from "../test/support/servers.js";
import type { MetricSample } from "../schemas/types.js";
import { bench } from "./fixtures.js";

const T0 = 1_764_000_000_000;

function samples(count: number, series: number, from: number): MetricSample[] {
  return Array.from({ length: count }, (_, i) => ({
    name: "gpu_util_percent",
    value: (i * 37) % 100,
    timestamp: T0 + Math.floor((from + i) / series) * 1000,
    labels: { host: `node-${(from + i) % series}`, gpu: String(i % 8), cluster: `c${i % 4}` },
    type: "gauge" as const,
    unit: "percent",
    startTimestamp: null,
  }));
}

export function pipelinesBench(): void {
  const steps = [
    { name: "validate", config: { maxAge: "1000h", maxFuture: "1000h" } },
    { name: "normalize", config: {} },
    { name: "window-aggregate", config: { groupBy: ["cluster"], size: "1m", idleTimeout: 0 } },
  ];
  const chain = buildChain(steps);
  const batch = 1_000;
  const input = samples(200_000, 5_000, 0);
  const now = () => T0;
  for (let i = 0; i < 20_000; i += batch) runChain(chain, input.slice(i, i + batch), now); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 20_000; i < input.length; i += batch)
    runChain(chain, input.slice(i, i + batch), now);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  bench(
    "pipeline_validate_normalize_window_in_process",
    (input.length - 20_000) / seconds,
    "samples/s",
  );

  // 100 000 active series: group by host and gpu, one window open per series.
  global.gc?.();
  const before = process.memoryUsage().rss;
  const wide = buildChain([
    { name: "window-aggregate", config: { groupBy: ["host", "gpu"], size: "1h", idleTimeout: 0 } },
  ]);
  const many = Array.from({ length: 100_000 }, (_, i): MetricSample => ({
    name: "gpu_util_percent",
    value: i % 100,
    timestamp: T0,
    labels: { host: `node-${Math.floor(i / 8)}`, gpu: String(i % 8) },
    type: "gauge",
    unit: "",
    startTimestamp: null,
  }));
  for (let i = 0; i < many.length; i += batch) runChain(wide, many.slice(i, i + batch), now);
  global.gc?.();
  bench("pipeline_window_rss_100k_series", (process.memoryUsage().rss - before) / 2 ** 20, "MiB");
}

/** The same chain end to end: produced to a topic, run by the pipeline service, committed. */
export async function pipelinesEndToEndBench(endpoint: KafkaEndpoint): Promise<void> {
  const kafka = kafkaClient(endpoint, "vigil-bench");
  const admin = kafka.admin();
  await admin.connect();
  const [input, output, changelog] = [
    uniqueName("bench-pipe-in"),
    uniqueName("bench-pipe-out"),
    uniqueName("bench-pipe-state"),
  ];
  await admin.createTopics({
    waitForLeaders: true,
    topics: [input, output, changelog].map((topic) => ({
      topic,
      numPartitions: 6,
      replicationFactor: 1,
    })),
  });
  const producer = kafka.producer();
  await producer.connect();
  const all = samples(200_000, 5_000, 0);
  for (let i = 0; i < all.length; i += 25_000) {
    const messages = [];
    for (let j = i; j < i + 25_000; j += 250)
      messages.push({
        key: `k${j % 60}`,
        value: encode("metric-batch", { source: "bench", samples: all.slice(j, j + 250) }),
      });
    await producer.send({ topic: input, acks: -1, messages });
  }
  await producer.disconnect();
  const name = uniqueName("bench-pipe");
  const start = performance.now();
  const service = await startPipelines(
    pipelineSettings.parse({
      ...chassisFor(endpoint),
      pipelines: [
        {
          name,
          inputs: [input],
          output,
          changelog,
          processors: [
            { validate: { maxAge: "1000h", maxFuture: "1000h" } },
            { normalize: {} },
            { "window-aggregate": { groupBy: ["cluster"], size: "1m", idleTimeout: 0 } },
          ],
        },
      ],
    }),
  );
  const records = all.length / 250;
  for (;;) {
    const [offsets] = await admin.fetchOffsets({
      groupId: `vigil-pipeline-${name}`,
      topics: [input],
    });
    if (
      (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) >= records
    )
      break;
    await new Promise((done) => setTimeout(done, 100));
  }
  const seconds = (performance.now() - start) / 1000;
  await service.stop();
  await admin.disconnect();
  bench("pipeline_validate_normalize_window_end_to_end", all.length / seconds, "samples/s");
}

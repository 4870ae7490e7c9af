// Two instances of the pipeline service aggregate one stream in one consumer group; one is killed
// with SIGKILL mid-stream and started again. The aggregates written must equal an offline
// recompute of the same input: no window missing, none counted twice.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildChain, runChain } from "../../../pipelines/chain.js";
import { seriesKey } from "../../../pipelines/api.js";
import { decode, encode } from "../../../schemas/codec.js";
import type { MetricSample } from "../../../schemas/types.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import {
  committedTotal,
  createTopics,
  readTopic,
  consumedAll,
  spawnService,
  waitFor,
  type ChildService,
} from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-25T10:00:00Z");
const GROUPS = ["c0", "c1", "c2", "c3", "c4", "c5"];
const WINDOW = {
  groupBy: ["cluster"],
  size: "10s",
  idleTimeout: "10m",
  aggregates: ["count", "sum", "min", "max"],
};

/** Phase p (0, 1, 2): windows 3p..3p+2 of every group, 20 samples each. */
function phase(p: number): { key: string; samples: MetricSample[] }[] {
  // In event-time order across groups, as sources that keep time together produce: groups share
  // partitions, and the watermark is per partition.
  const records: { key: string; samples: MetricSample[] }[] = [];
  for (let w = 3 * p; w < 3 * p + 3; w++) {
    for (let r = 0; r < 2; r++) {
      for (const cluster of GROUPS) {
        const samples = Array.from({ length: 10 }, (_, i): MetricSample => {
          const n = r * 10 + i;
          return {
            name: "gpu_util_percent",
            value: (GROUPS.indexOf(cluster) * 7 + w * 3 + n) % 101,
            timestamp: T0 + w * 10_000 + n * 400,
            labels: { cluster, host: `h${n % 4}` },
            type: "gauge",
            unit: "",
            startTimestamp: null,
          };
        });
        records.push({ key: cluster, samples });
      }
    }
  }
  return records;
}
/** One sample an hour later per group: its watermark closes every window of the test. */
const flush = () =>
  GROUPS.map((cluster) => ({
    key: cluster,
    samples: [
      {
        name: "gpu_util_percent",
        value: 0,
        timestamp: T0 + 3_600_000,
        labels: { cluster },
        type: "gauge" as const,
        unit: "",
        startTimestamp: null,
      },
    ],
  }));

describe("operator state across a kill -9", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("writes exactly the aggregates an offline recompute gives, though one of two instances was killed mid-stream", async () => {
    const [input, output, late, repartition, dlq] = await createTopics(
      admin,
      6,
      "state-in",
      "state-out",
      "state-late",
      "state-repartition",
      "state-dlq",
    );
    const pipelineName = uniqueName("agg-under-fire");
    const config = join(mkdtempSync(join(tmpdir(), "vigil-pipe-")), "pipelines.json");
    writeFileSync(
      config,
      JSON.stringify({
        topics: { deadLetter: dlq },
        pipelines: [
          {
            name: pipelineName,
            inputs: [input],
            output,
            late,
            repartition,
            sessionTimeout: "6s",
            outputKey: "series",
            tick: "500ms",
            processors: [{ "window-aggregate": WINDOW }],
          },
        ],
      }),
    );
    const start = (): ChildService =>
      spawnService("pipelines/service.ts", endpoint, { VIGIL_CONFIG: config });
    const producer = kafka.producer();
    await producer.connect();
    const send = async (records: { key: string; samples: MetricSample[] }[]) =>
      void (await producer.send({
        topic: input!,
        acks: -1,
        messages: records.map((r) => ({
          key: r.key,
          value: encode("metric-batch", { source: r.key, samples: r.samples }),
        })),
      }));

    let a = start();
    const b = start();
    try {
      const ready = async (child: ChildService) =>
        (await fetch(`http://127.0.0.1:${await child.port}/readyz`)).status === 200;
      // Each instance owns partitions (ready means assigned), so the kill takes state away.
      await waitFor(
        "both instances own partitions",
        async () => (await ready(a)) && (await ready(b)),
        30_000,
      );
      await send(phase(0));
      // Both instances have processed and committed phase 0: A's open windows now live only in its
      // memory and in the changelog.
      await waitFor(
        "phase 0 committed",
        async () =>
          (await committedTotal(admin, `vigil-pipeline-${pipelineName}-repartition`, input!)) ===
            phase(0).length &&
          (await consumedAll(admin, kafka, `vigil-pipeline-${pipelineName}`, repartition!)),
        30_000,
      );
      // A still owns partitions when it dies (an instance that owns none would take no state away).
      await waitFor(
        "both instances still own partitions",
        async () => (await ready(a)) && (await ready(b)),
        30_000,
      );
      a.child.kill("SIGKILL");
      await a.exited;
      await send(phase(1)); // B takes A's partitions once A's session expires, from the changelog
      a = start();
      await a.port;
      await send(phase(2)); // and gives some back to A after the rebalance
      await send(flush());
      const expectedWindows = GROUPS.length * 9 * WINDOW.aggregates.length;
      const windowsWritten = async () =>
        new Set(
          (await readTopic(kafka, output!)).flatMap((r) =>
            decode("metric-batch", r.value).samples.map((s) => `${seriesKey(s)}@${s.timestamp}`),
          ),
        ).size;
      await waitFor(
        "every window written",
        async () => (await windowsWritten()) >= expectedWindows,
        60_000,
      );
    } finally {
      await producer.disconnect();
      for (const child of [a, b]) child.child.kill("SIGTERM");
      await Promise.all([a.exited, b.exited]);
    }

    // Offline recompute of the same input, group by group in the order it was produced.
    const expected = new Map<string, number>();
    const all = [...phase(0), ...phase(1), ...phase(2), ...flush()];
    for (const cluster of GROUPS) {
      const chain = buildChain([{ name: "window-aggregate", config: WINDOW }]);
      for (const record of all.filter((r) => r.key === cluster)) {
        for (const s of runChain(chain, record.samples, () => T0).samples)
          expected.set(`${seriesKey(s)}@${s.timestamp}`, s.value);
      }
    }
    const written = new Map<string, number[]>();
    for (const record of await readTopic(kafka, output!)) {
      for (const s of decode("metric-batch", record.value).samples)
        written.set(`${seriesKey(s)}@${s.timestamp}`, [
          ...(written.get(`${seriesKey(s)}@${s.timestamp}`) ?? []),
          s.value,
        ]);
    }
    // Each aggregate record is keyed by its series' labels, whichever instance wrote it.
    for (const record of await readTopic(kafka, output!)) {
      const samples = decode("metric-batch", record.value).samples;
      expect(new Set(samples.map((s) => seriesKey({ name: "", labels: s.labels })))).toEqual(
        new Set([record.key]),
      );
    }
    // Exactly once, across the kill: every window written once (transactions, read committed).
    expect([...written].filter(([, values]) => values.length > 1)).toEqual([]);
    expect(new Map([...written].map(([key, values]) => [key, values[0]!]))).toEqual(expected);
    expect(await readTopic(kafka, late!)).toEqual([]);
  }, 150_000);
});

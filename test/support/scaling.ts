// What the scaling tests share (test/integration/detector/scale-out-in.test.ts, the soak in
// test/soak/): the p99 pipeline and the detector as real processes over a paced latency stream,
// instances to start and stop, and the comparison of what they wrote with a single-instance
// offline recompute of the re-keyed topic.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Admin, Kafka } from "kafkajs";
import { seriesKey } from "../../pipelines/api.js";
import { decode } from "../../schemas/codec.js";
import type { Alert } from "../../schemas/types.js";
import { uniqueName } from "./clients.js";
import {
  consumedAll,
  readTopic,
  spawnService,
  waitFor,
  type ChildService,
  type ReadRecord,
} from "./kafka.js";
import {
  alertEvents,
  comparable,
  latencies,
  offlineRecompute,
  paced,
  streamTopics,
  type Records,
} from "./latency.js";
import type { KafkaEndpoint } from "./servers.js";

export const SERVICES = ["s0", "s1", "s2", "s3", "s4", "s5"];
export const WINDOW = {
  metrics: ["http_request_duration_seconds"],
  groupBy: ["service"],
  size: "5m",
  advance: "1m",
  allowedLateness: "30s",
  aggregates: ["count", "p50", "p99"],
};

/** Minute m of every service's two hosts; `breaching(i, m)` says whether service i is at 0.9 s. */
export const latencyMinute =
  (breaching: (service: number, m: number) => boolean) =>
  (m: number): Records =>
    SERVICES.flatMap((service, i) =>
      ["a", "b"].map((h) => ({
        key: `${service}-${h}`,
        samples: latencies(service, `${service}-${h}`, m, breaching(i, m) ? 0.9 : 0.05 + i / 100),
      })),
    );

export interface Comparison {
  /** Samples of the input that the re-keyed topic holds other than once. */
  rekeyDifferences: string[];
  /** Windows written more than once, or with another value than offline, or not at all. */
  windowDifferences: string[];
  /** Alerts whose events differ from the offline ones. */
  alertDifferences: string[];
  windows: number;
  offlineEvents: Alert[];
  lateRecords: number;
}

export async function scalingRun(
  endpoint: KafkaEndpoint,
  kafka: Kafka,
  admin: Admin,
  prefix: string,
  minute: (m: number) => Records,
) {
  const topics = await streamTopics(admin, prefix);
  const { clean, aggregated, repartition, late, alerts, state, dlq } = topics;
  const pipelineName = uniqueName(prefix);
  const detectorName = uniqueName(`${prefix}det`);
  const dir = mkdtempSync(join(tmpdir(), `vigil-${prefix}-`));
  const write = (name: string, config: object) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(config));
    return path;
  };
  const pipelineConfig = write("pipelines.json", {
    topics: { deadLetter: dlq },
    pipelines: [
      {
        name: pipelineName,
        inputs: [clean],
        output: aggregated,
        late,
        repartition,
        outputKey: "series",
        tick: "500ms",
        sessionTimeout: "6s",
        processors: [{ "window-aggregate": WINDOW }],
      },
    ],
  });
  const detectorConfig = write("detector.json", {
    topics: { deadLetter: dlq },
    detector: {
      name: detectorName,
      inputs: [aggregated],
      // Its own topics only: the default pack's log rules would read the catalogue's log topic.
      logInputs: [],
      output: alerts,
      state,
      tick: "500ms",
      sessionTimeout: "6s",
    },
  });
  const started: ChildService[] = [];
  const spawned = (child: ChildService) => (started.push(child), child);
  const ready = async (child: ChildService) => {
    const port = await child.port;
    const answer = await fetch(`http://127.0.0.1:${port}/readyz`).catch((error: Error) => {
      throw new Error(
        `instance on port ${port} does not answer: ${error.message}\n${child.stderr()}`,
      );
    });
    return answer.status === 200;
  };
  const producer = kafka.producer();
  await producer.connect();

  return {
    pipelineName,
    pipeline: () =>
      spawned(spawnService("pipelines/service.ts", endpoint, { VIGIL_CONFIG: pipelineConfig })),
    detector: () =>
      spawned(
        spawnService("services/detector/main.ts", endpoint, { VIGIL_CONFIG: detectorConfig }),
      ),
    /** Every instance's /readyz is 200; a timeout says what each one not ready answers. */
    allReady: async (children: ChildService[], timeoutMs = 60_000) => {
      try {
        await waitFor(
          "every instance owns partitions",
          async () => (await Promise.all(children.map(ready))).every(Boolean),
          timeoutMs,
        );
      } catch (error) {
        const answers = await Promise.all(
          children.map(async (child) => {
            const port = await child.port;
            const answer = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
            return answer?.status === 200
              ? undefined
              : `pid ${child.child.pid} (:${port}): ${answer ? `${answer.status} ${await answer.text()}` : "no answer"}`;
          }),
        );
        throw new Error(
          `${(error as Error).message}; not ready: ${answers.filter(Boolean).join("; ")}`,
        );
      }
    },
    stop: async (child: ChildService, signal: NodeJS.Signals) => {
      child.child.kill(signal);
      await child.exited;
    },
    /** Minutes [from, to), each once the re-keying stage has committed the one before. */
    stream: (from: number, to: number) =>
      paced(producer, admin, topics, pipelineName, minute, from, to),
    /** Waits for both stages to be through everything, then stops every instance started. */
    async finish(timeoutMs = 60_000) {
      try {
        await waitFor(
          "the pipeline through every re-keyed sample",
          async () => consumedAll(admin, kafka, `vigil-pipeline-${pipelineName}`, repartition),
          timeoutMs,
        );
        await waitFor(
          "the detector through every aggregate",
          async () => consumedAll(admin, kafka, `vigil-detector-${detectorName}`, aggregated),
          timeoutMs,
        );
      } finally {
        await this.close();
      }
    },
    async close() {
      await producer.disconnect().catch(() => undefined);
      for (const child of started) child.child.kill("SIGTERM");
      await Promise.all(started.map((c) => c.exited));
    },
    /** Everything written, against the offline recompute of the re-keyed topic. */
    async compare(): Promise<Comparison> {
      const regrouped = await readTopic(kafka, repartition);
      // The re-keying stage, exactly once: every sample sent is on the re-keyed topic once.
      const times = new Map<string, number>();
      /** Where each sample is: "in p0@12" (the input), "re-keyed p3@40" — for a difference. */
      const where = new Map<string, string[]>();
      const tally = (records: ReadRecord[], by: number) => {
        for (const record of records)
          for (const s of decode("metric-batch", record.value).samples) {
            const key = `${seriesKey(s)}@${s.timestamp}`;
            times.set(key, (times.get(key) ?? 0) + by);
            const at = `${by > 0 ? "in" : "re-keyed"} p${record.partition}@${record.offset}`;
            where.set(key, [...(where.get(key) ?? []), at]);
          }
      };
      tally(await readTopic(kafka, clean), 1);
      tally(regrouped, -1);
      const rekeyDifferences = [...times]
        .filter(([, n]) => n !== 0)
        .map(
          ([key, n]) =>
            `${key}: re-keyed ${n > 0 ? `${n} time(s) too few` : `${-n} time(s) too many`} (${where.get(key)!.join(", ")})`,
        );
      const offline = offlineRecompute(regrouped, [{ name: "window-aggregate", config: WINDOW }]);
      const closed = new Map(
        offline.aggregates.map((a) => [`${seriesKey(a)}@${a.timestamp}`, a.value]),
      );
      const written = new Map<string, number[]>();
      for (const record of await readTopic(kafka, aggregated))
        for (const s of decode("metric-batch", record.value).samples) {
          const key = `${seriesKey(s)}@${s.timestamp}`;
          written.set(key, [...(written.get(key) ?? []), s.value]);
        }
      // Twice is wrong anywhere; each window offline closed is written once, with its value. (A
      // window only the live run closed — idle at the end — has nothing to compare with.)
      const windowDifferences: string[] = [];
      for (const [key, values] of written)
        if (values.length > 1) windowDifferences.push(`${key}: written ${values.join(", ")}`);
      for (const [key, value] of closed) {
        const values = written.get(key) ?? [];
        if (values.length === 0) windowDifferences.push(`${key}: offline ${value}, never written`);
        else if (values.length === 1 && values[0] !== value)
          windowDifferences.push(`${key}: offline ${value}, written ${values[0]}`);
      }
      const byFingerprint = (events: Alert[]) => {
        const out = new Map<string, ReturnType<typeof comparable>[]>();
        for (const e of events)
          out.set(e.fingerprint, [...(out.get(e.fingerprint) ?? []), comparable(e)]);
        return out;
      };
      const expected = byFingerprint(offline.events);
      const got = byFingerprint(await alertEvents(kafka, alerts));
      const alertDifferences: string[] = [];
      for (const fingerprint of new Set([...expected.keys(), ...got.keys()])) {
        const [want, have] = [expected.get(fingerprint), got.get(fingerprint)];
        if (JSON.stringify(want) !== JSON.stringify(have))
          alertDifferences.push(
            `alert ${fingerprint} (${(want ?? have)![0]!.labels.service}): offline ${want?.map((e) => e.status).join(",") ?? "none"}, online ${have?.map((e) => e.status).join(",") ?? "none"}`,
          );
      }
      return {
        rekeyDifferences,
        windowDifferences,
        alertDifferences,
        windows: closed.size,
        offlineEvents: offline.events,
        lateRecords: (await readTopic(kafka, late)).length,
      };
    },
  };
}

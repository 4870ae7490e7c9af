// The exactly-once soak: the p99 pipeline and the detector as real processes, through rounds of
// scale 1 → 3 → 1, each round a kill -9 of a random pipeline instance and a random detector
// instance, and a restart of the broker half-way, while services' latencies breach and recover.
// Every aggregate is written exactly once with the value a single-instance offline recompute
// gives, and the alert events are the offline ones: 0 differences, however the rounds fell.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { seriesKey } from "../../pipelines/api.js";
import { decode } from "../../schemas/codec.js";
import type { Alert } from "../../schemas/types.js";
import { kafkaClient, uniqueName } from "../support/clients.js";
import {
  consumedAll,
  readTopic,
  spawnService,
  waitFor,
  type ChildService,
} from "../support/kafka.js";
import {
  alertEvents,
  comparable,
  latencies,
  offlineRecompute,
  paced,
  streamTopics,
} from "../support/latency.js";
import { stopLocalServer } from "../support/outage.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const ROUNDS = Number(process.env.VIGIL_SOAK_ROUNDS ?? 20);
const SERVICES = ["s0", "s1", "s2", "s3", "s4", "s5"];
const WINDOW = {
  metrics: ["http_request_duration_seconds"],
  groupBy: ["service"],
  size: "5m",
  advance: "1m",
  allowedLateness: "30s",
  aggregates: ["count", "p50", "p99"],
};
/** Minutes of event time each round streams: one at 3 instances, one after the kills, one at 1. */
const PER_ROUND = 3;

/** Service i breaches (0.9 s) for 10 minutes of every 20, each service shifted by 3 minutes. */
const minute = (m: number) =>
  SERVICES.flatMap((service, i) =>
    ["a", "b"].map((h) => ({
      key: `${service}-${h}`,
      samples: latencies(
        service,
        `${service}-${h}`,
        m,
        Math.floor((m + 20 - 3 * i) / 10) % 2 === 1 ? 0.9 : 0.05 + i / 100,
      ),
    })),
  );

/** A seeded choice, so a failing soak can be run again the same way (VIGIL_SOAK_SEED). */
function chooser(seed: number) {
  let x = seed >>> 0 || 1;
  return <T>(list: T[]): T => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return list[(x >>> 0) % list.length]!;
  };
}

describe("the exactly-once soak", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it(`changes no aggregate and no alert event over ${ROUNDS} rounds of scale 1 → 3 → 1 with kill -9 and a broker restart`, async () => {
    const seed = Number(process.env.VIGIL_SOAK_SEED ?? Date.now() % 100_000);
    const pick = chooser(seed);
    console.log(`soak: ${ROUNDS} rounds, seed ${seed} (VIGIL_SOAK_SEED=${seed} repeats it)`);
    const topics = await streamTopics(admin, "soak");
    const { clean, aggregated, repartition, late, alerts, state, dlq } = topics;
    const pipelineName = uniqueName("soak");
    const detectorName = uniqueName("soakdet");
    const dir = mkdtempSync(join(tmpdir(), "vigil-soak-"));
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
        logInputs: [],
        output: alerts,
        state,
        tick: "500ms",
        sessionTimeout: "6s",
      },
    });
    const spawnPipeline = () =>
      spawnService("pipelines/service.ts", endpoint, { VIGIL_CONFIG: pipelineConfig });
    const spawnDetector = () =>
      spawnService("services/detector/main.ts", endpoint, { VIGIL_CONFIG: detectorConfig });
    const ready = async (child: ChildService) => {
      const port = await child.port;
      const answer = await fetch(`http://127.0.0.1:${port}/readyz`).catch((error: Error) => {
        throw new Error(
          `instance on port ${port} does not answer: ${error.message}\n${child.stderr()}`,
        );
      });
      return answer.status === 200;
    };
    const allReady = (children: ChildService[]) =>
      waitFor(
        "every instance owns partitions",
        async () => (await Promise.all(children.map(ready))).every(Boolean),
        120_000,
      );
    const producer = kafka.producer();
    await producer.connect();
    let next = 0;
    const stream = async (minutes: number) => {
      await paced(producer, admin, topics, pipelineName, minute, next, next + minutes);
      next += minutes;
    };

    const all: ChildService[] = [];
    let pipelines: ChildService[] = [];
    let detectors: ChildService[] = [];
    const spawned = (child: ChildService) => (all.push(child), child);
    const stop = async (child: ChildService, signal: NodeJS.Signals) => {
      child.child.kill(signal);
      await child.exited;
    };
    const killed = { sigkill: 0, sigterm: 0, brokerRestarts: 0 };
    try {
      pipelines = [spawned(spawnPipeline())];
      detectors = [spawned(spawnDetector())];
      await allReady([...pipelines, ...detectors]);
      for (let round = 1; round <= ROUNDS; round++) {
        // Scale out: 1 → 3 of each.
        pipelines.push(spawned(spawnPipeline()), spawned(spawnPipeline()));
        detectors.push(spawned(spawnDetector()), spawned(spawnDetector()));
        await allReady([...pipelines, ...detectors]);
        await stream(1);
        // kill -9 one of each, chosen at random.
        const [p, d] = [pick(pipelines), pick(detectors)];
        await Promise.all([stop(p, "SIGKILL"), stop(d, "SIGKILL")]);
        killed.sigkill += 2;
        pipelines = pipelines.filter((c) => c !== p);
        detectors = detectors.filter((c) => c !== d);
        await stream(1);
        // Scale in: the rest stop gracefully until one of each is left.
        const leaving = [pick(pipelines), pick(detectors)];
        await Promise.all(leaving.map((c) => stop(c, "SIGTERM")));
        killed.sigterm += 2;
        pipelines = pipelines.filter((c) => !leaving.includes(c));
        detectors = detectors.filter((c) => !leaving.includes(c));
        if (round === Math.ceil(ROUNDS / 2)) {
          const start = await stopLocalServer("kafka");
          await start();
          killed.brokerRestarts += 1;
        }
        await stream(PER_ROUND - 2);
        console.log(`soak: round ${round} of ${ROUNDS} done (event minute ${next})`);
      }
      await waitFor(
        "the pipeline through every re-keyed sample",
        async () => consumedAll(admin, kafka, `vigil-pipeline-${pipelineName}`, repartition),
        120_000,
      );
      await waitFor(
        "the detector through every aggregate",
        async () => consumedAll(admin, kafka, `vigil-detector-${detectorName}`, aggregated),
        120_000,
      );
    } finally {
      await producer.disconnect();
      await Promise.all(all.map((c) => stop(c, "SIGTERM")));
    }

    const regrouped = await readTopic(kafka, repartition);
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
    const differences = [
      ...[...written]
        .filter(([, values]) => values.length > 1)
        .map(([k, v]) => `${k}: written ${v.join(", ")}`),
      ...[...closed]
        .filter(([key, value]) => written.get(key)?.length !== 1 || written.get(key)![0] !== value)
        .map(
          ([key, value]) =>
            `${key}: offline ${value}, written ${written.get(key)?.join(", ") ?? "never"}`,
        ),
    ];
    const online = await alertEvents(kafka, alerts);
    const byFingerprint = (events: Alert[]) => {
      const out = new Map<string, ReturnType<typeof comparable>[]>();
      for (const e of events)
        out.set(e.fingerprint, [...(out.get(e.fingerprint) ?? []), comparable(e)]);
      return out;
    };
    const expected = byFingerprint(offline.events);
    const got = byFingerprint(online);
    for (const [fingerprint, events] of new Map([...expected, ...got]))
      if (JSON.stringify(got.get(fingerprint)) !== JSON.stringify(expected.get(fingerprint)))
        differences.push(
          `alert ${fingerprint} (${events[0]?.labels.service}): offline ${
            expected
              .get(fingerprint)
              ?.map((e) => e.status)
              .join(",") ?? "none"
          }, online ${
            got
              .get(fingerprint)
              ?.map((e) => e.status)
              .join(",") ?? "none"
          }`,
        );
    console.log(
      `soak: ${ROUNDS} rounds, ${killed.sigkill} kill -9, ${killed.sigterm} SIGTERM, ${killed.brokerRestarts} broker restart(s); ${closed.size} windows, ${offline.events.length} alert events compared; ${differences.length} differences`,
    );
    expect(closed.size).toBeGreaterThan(0);
    // From 40 minutes of event time on, every service has breached and recovered at least once.
    if (next >= 40) expect(offline.events.length).toBeGreaterThanOrEqual(2 * SERVICES.length);
    expect(differences).toEqual([]);
    expect(await readTopic(kafka, late)).toEqual([]);
  });
});

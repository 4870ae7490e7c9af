// The exactly-once soak: the p99 pipeline and the detector as real processes, through rounds of
// scale 1 → 3 → 1, each round a kill -9 of a random pipeline instance and a random detector
// instance, and a restart of the broker half-way, while services' latencies breach and recover.
// Every aggregate is written exactly once with the value a single-instance offline recompute
// gives, and the alert events are the offline ones: 0 differences, however the rounds fell.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kafkaClient } from "../support/clients.js";
import type { ChildService } from "../support/kafka.js";
import { stopLocalServer } from "../support/outage.js";
import { latencyMinute, scalingRun, SERVICES } from "../support/scaling.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const ROUNDS = Number(process.env.VIGIL_SOAK_ROUNDS ?? 20);

/** Service i breaches (0.9 s) for 10 minutes of every 20, each service shifted by 3 minutes. */
const minute = latencyMinute((i, m) => Math.floor((m + 20 - 3 * i) / 10) % 2 === 1);

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
    const run = await scalingRun(endpoint, kafka, admin, "soak", minute);
    let minutes = 0;
    const stream = async (n: number) => {
      await run.stream(minutes, minutes + n);
      minutes += n;
    };
    const counts = { sigkill: 0, sigterm: 0, brokerRestarts: 0 };
    try {
      let pipelines: ChildService[] = [run.pipeline()];
      let detectors: ChildService[] = [run.detector()];
      await run.allReady([...pipelines, ...detectors]);
      for (let round = 1; round <= ROUNDS; round++) {
        // Scale out: 1 → 3 of each.
        pipelines.push(run.pipeline(), run.pipeline());
        detectors.push(run.detector(), run.detector());
        await run.allReady([...pipelines, ...detectors], 120_000);
        await stream(1);
        // kill -9 one of each, chosen at random.
        const killed = [pick(pipelines), pick(detectors)];
        await Promise.all(killed.map((c) => run.stop(c, "SIGKILL")));
        counts.sigkill += killed.length;
        pipelines = pipelines.filter((c) => !killed.includes(c));
        detectors = detectors.filter((c) => !killed.includes(c));
        await stream(1);
        // Scale in: one more of each stops gracefully, leaving one.
        const leaving = [pick(pipelines), pick(detectors)];
        await Promise.all(leaving.map((c) => run.stop(c, "SIGTERM")));
        counts.sigterm += leaving.length;
        pipelines = pipelines.filter((c) => !leaving.includes(c));
        detectors = detectors.filter((c) => !leaving.includes(c));
        if (round === Math.ceil(ROUNDS / 2)) {
          const start = await stopLocalServer("kafka");
          await start();
          counts.brokerRestarts += 1;
        }
        await stream(1);
        console.log(`soak: round ${round} of ${ROUNDS} done (event minute ${minutes})`);
      }
      await run.finish(120_000);
    } finally {
      await run.close();
    }
    const result = await run.compare();
    const differences = [
      ...result.rekeyDifferences,
      ...result.windowDifferences,
      ...result.alertDifferences,
    ];
    console.log(
      `soak: ${ROUNDS} rounds, ${counts.sigkill} kill -9, ${counts.sigterm} SIGTERM, ${counts.brokerRestarts} broker restart(s); ${result.windows} windows and ${result.offlineEvents.length} alert events compared; ${differences.length} differences`,
    );
    expect(result.windows).toBeGreaterThan(0);
    // From 40 minutes of event time on, every service has breached and recovered at least once.
    if (minutes >= 40)
      expect(result.offlineEvents.length).toBeGreaterThanOrEqual(2 * SERVICES.length);
    expect(differences).toEqual([]);
    expect(result.lateRecords).toBe(0);
  });
});

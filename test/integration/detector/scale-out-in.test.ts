// Scaling a stateful stage changes no result. The p99 pipeline and the detector run as real
// processes, 1 → 3 → 1 instances each, with a kill -9 of one of each along the way, while six
// services' latencies breach and recover: every aggregate is written exactly once with the value
// an offline single-instance recompute gives, and every alert's events are the offline ones.
// (test/soak/ does the same for 20 rounds, with a broker restart.)
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kafkaClient } from "../../support/clients.js";
import { latencyMinute, scalingRun, SERVICES } from "../../support/scaling.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

/** Service i breaches (0.9 s) in minutes [2 + 3i, 12 + 3i). */
const minute = latencyMinute((i, m) => m >= 2 + 3 * i && m < 12 + 3 * i);

describe("scaling the pipeline and the detector out and in", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("changes no aggregate and no alert event, though one of each was killed with -9", async () => {
    const run = await scalingRun(endpoint, kafka, admin, "scale", minute);
    try {
      const [p1, d1] = [run.pipeline(), run.detector()];
      await run.allReady([p1, d1]);
      await run.stream(0, 8);
      const [p2, p3, d2, d3] = [run.pipeline(), run.pipeline(), run.detector(), run.detector()];
      await run.allReady([p1, p2, p3, d1, d2, d3]);
      await run.stream(8, 16);
      await Promise.all([run.stop(p2, "SIGKILL"), run.stop(d2, "SIGKILL")]);
      await run.stream(16, 24);
      await Promise.all([run.stop(p3, "SIGTERM"), run.stop(d3, "SIGTERM")]);
      await run.stream(24, 36);
      await run.finish();
    } finally {
      await run.close();
    }
    const result = await run.compare();
    // Exactly once: every sample re-keyed once; no window twice, none lost; each with the
    // offline value.
    expect(result.rekeyDifferences).toEqual([]);
    expect(result.windowDifferences).toEqual([]);
    expect(result.windows).toBeGreaterThan(0);
    expect(result.lateRecords).toBe(0);
    // Every service's latency alert fires and resolves, as offline.
    const statuses = new Map<string, string[]>();
    for (const e of result.offlineEvents)
      statuses.set(e.fingerprint, [...(statuses.get(e.fingerprint) ?? []), e.status]);
    expect([...statuses.values()]).toEqual(SERVICES.map(() => ["firing", "resolved"]));
    expect(result.alertDifferences).toEqual([]);
  }, 300_000);
});

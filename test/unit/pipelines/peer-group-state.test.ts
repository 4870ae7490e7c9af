// The peer-group operator's state stays bounded: a finished job's group is forgotten once the
// partition's samples are forgetAfter past its last one, a few groups per batch, and a group that
// comes back warms up again. A commit writes the members a batch touched, never a whole group.
import { describe, expect, it } from "vitest";
import { buildChain, runChain } from "../../../pipelines/chain.js";
import type { MetricSample } from "../../../schemas/types.js";
import { TaskStores } from "../../../services/chassis/state-store.js";

const T0 = Date.UTC(2026, 10, 25, 10);

const sample = (job: string, gpu: number, at: number): MetricSample => ({
  name: "gpu_sm_clock_hertz",
  value: 1.98e9,
  timestamp: at,
  labels: { slurm_job: job, gpu: String(gpu) },
  type: "gauge",
  unit: "hertz",
  startTimestamp: null,
});

describe("the peer-group operator's state", () => {
  it("forgets a finished job's group, and writes only the members a batch touched", () => {
    const stores = new TaskStores("changelog", 0);
    const chain = buildChain(
      [
        {
          name: "peer-group",
          config: { metrics: ["gpu_sm_clock_hertz"], groupBy: ["slurm_job"], idleTimeout: 0 },
        },
      ],
      "test",
      stores,
    );
    const changes = (samples: MetricSample[]) => {
      runChain(chain, samples, () => T0);
      return stores.changes();
    };
    const run = (samples: MetricSample[]) => changes(samples).map((c) => String(c.key));
    const written = run([0, 1, 2].map((g) => sample("old", g, T0)));
    // three members and the group's clock (and the stage's bookkeeping), not a whole window
    expect(written.filter((k) => k.includes("\u0000"))).toHaveLength(3);
    expect(written.filter((k) => k.includes("~clock|"))).toHaveLength(1);
    // one member changes: one member key (and the clock) is written
    expect(run([sample("old", 1, T0 + 1_000)]).filter((k) => k.includes("\u0000"))).toHaveLength(1);

    // Two hours on, another job's sample: the old job's open window and clock are deleted.
    const deleted = changes([sample("new", 0, T0 + 2 * 3_600_000)])
      .filter((c) => c.value === null)
      .map((c) => String(c.key));
    expect(deleted.filter((k) => k.includes('{slurm_job="old"}'))).toHaveLength(4);
    expect(deleted.some((k) => k.includes('~clock|gpu_sm_clock_hertz{slurm_job="old"}'))).toBe(
      true,
    );
  });
});

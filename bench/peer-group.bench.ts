// The peer-group detector's throughput: 10 000 GPUs in 300 groups (Slurm jobs of ~33 GPUs), each
// GPU reporting its SM clock every 10 s, through the operator with its state in a task's keyed
// store — each batch's changed keys serialised as a commit would write them to the changelog —
// and every window (1 m) closed and judged: samples/s on one core. One GPU in each group runs
// 25 % slow; the bench checks each is scored as the straggler.
import { buildChain, runChain } from "../pipelines/chain.js";
import type { MetricSample } from "../schemas/types.js";
import { TaskStores } from "../services/chassis/state-store.js";
import { bench } from "./fixtures.js";

const GPUS = 10_000;
const GROUPS = 300;
const T0 = 1_796_000_000_000;

export function peerGroupBench(): void {
  const stores = new TaskStores("changelog", 0);
  const chain = buildChain(
    [
      {
        name: "peer-group",
        config: {
          metrics: ["gpu_sm_clock_hertz"],
          groupBy: ["slurm_job"],
          window: "1m",
          allowedLateness: "15s",
          warmup: 1,
          idleTimeout: 0,
        },
      },
    ],
    "bench",
    stores,
  );
  const reading = (gpu: number, at: number): MetricSample => {
    const job = gpu % GROUPS;
    return {
      name: "gpu_sm_clock_hertz",
      value: (gpu < GROUPS ? 0.75 : 1) * 1.98e9 * (1 + ((gpu * 7919) % 13) / 1000),
      timestamp: at,
      labels: {
        host: `node-${Math.floor(gpu / 8)}`,
        gpu: String(gpu % 8),
        uuid: `GPU-${gpu.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`,
        slurm_job: String(100_000 + job),
        cluster: "train-eu-1",
      },
      type: "gauge",
      unit: "hertz",
      startTimestamp: null,
    };
  };
  const run = (from: number, intervals: number) => {
    let samples = 0;
    let stragglers = 0;
    let changed = 0;
    for (let k = from; k < from + intervals; k++) {
      const at = T0 + k * 10_000;
      const all = Array.from({ length: GPUS }, (_, gpu) => reading(gpu, at));
      for (let i = 0; i < all.length; i += 1_000) {
        const out = runChain(chain, all.slice(i, i + 1_000), () => at + 1_000).samples;
        changed += stores.changes().length;
        for (const s of out) if (s.name.endsWith("_peer_zscore") && s.value < -3.5) stragglers += 1;
        samples += Math.min(1_000, all.length - i);
      }
    }
    return { samples, stragglers, changed };
  };
  run(0, 18); // warm-up: three windows
  const start = process.hrtime.bigint();
  const { samples, stragglers, changed } = run(18, 60); // ten windows
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  bench("peer_group_samples_per_s_10k_gpus", samples / seconds, "samples/s");
  bench("peer_group_stragglers_found_per_window", stragglers / 10, "GPUs");
  bench("peer_group_changelog_records_per_batch", changed / (samples / 1_000), "records");
}

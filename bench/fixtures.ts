// A realistic metric batch: one node_exporter-style scrape of a GPU node, 250 samples with the
// label sets such scrapes carry.
import type { MetricBatch, MetricSample } from "../schemas/types.js";

export function scrapeBatch(host: string, samples = 250, at = 1_764_000_000_000): MetricBatch {
  const out: MetricSample[] = [];
  const base = { host, job: "node", instance: `${host}:9100`, cluster: "train-eu-1" };
  for (let i = 0; out.length < samples; i++) {
    const cpu = String(i % 64);
    out.push(
      {
        name: "node_cpu_seconds_total",
        value: 12_345.67 + i,
        timestamp: at,
        labels: { ...base, cpu, mode: ["user", "system", "idle", "iowait"][i % 4]! },
        type: "counter",
        unit: "seconds",
        startTimestamp: null,
      },
      {
        name: "DCGM_FI_DEV_GPU_TEMP",
        value: 60 + (i % 25),
        timestamp: at,
        labels: {
          ...base,
          gpu: String(i % 8),
          UUID: `GPU-3f1c2e4a-${(i % 8).toString(16).padStart(4, "0")}-4b7e-9c1d-0a2b3c4d5e6f`,
          modelName: "NVIDIA H100 80GB HBM3",
        },
        type: "gauge",
        unit: "celsius",
        startTimestamp: null,
      },
    );
  }
  return { source: `node-exporter/${host}`, samples: out.slice(0, samples) };
}

export function bench(name: string, value: number, unit: string): void {
  console.log(`BENCH ${name} ${Number.isInteger(value) ? value : value.toFixed(2)} ${unit}`);
}

/** Runs `fn` repeatedly for about `ms` after a warm-up; returns operations per second. */
export function opsPerSecond(fn: () => void, ms = 1500): number {
  for (let i = 0; i < 200; i++) fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 50; i++) fn();
    ops += 50;
  }
  return ops / (Number(process.hrtime.bigint() - start) / 1e9);
}

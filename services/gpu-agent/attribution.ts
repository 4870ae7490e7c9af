// Whose job owns each GPU: the compute processes nvidia-smi lists on it, each traced through
// /proc/<pid>/cgroup to its pod and container, Slurm job or systemd unit. A GPU whose processes
// all belong to one workload carries that workload's labels; each process's GPU memory is a series
// of its own (gpu_process_memory_used_bytes), labelled with its pid, name and workload.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MetricSample } from "../../schemas/types.js";
import { workloadLabels, workloadOfCgroup } from "./cgroup.js";
import type { ComputeApp, GpuReading } from "./nvidia-smi.js";

export interface Attribution {
  /** GPU uuid → the labels of the one workload on it. */
  gpuLabels: Map<string, Record<string, string>>;
  processSamples: MetricSample[];
}

/** The workload labels of a process; none when its cgroup file cannot be read (it has exited). */
export function processLabels(procRoot: string, pid: number): Record<string, string> {
  try {
    return workloadLabels(
      workloadOfCgroup(readFileSync(join(procRoot, String(pid), "cgroup"), "utf8")),
    );
  } catch {
    return {};
  }
}

export function attribute(
  apps: ComputeApp[],
  readings: GpuReading[],
  procRoot: string,
  base: Record<string, string>,
  at: number,
): Attribution {
  const byUuid = new Map(readings.map((r) => [r.uuid, r]));
  const perGpu = new Map<string, Record<string, string>[]>();
  const processSamples: MetricSample[] = [];
  for (const app of apps) {
    const labels = processLabels(procRoot, app.pid);
    perGpu.set(app.gpuUuid, [...(perGpu.get(app.gpuUuid) ?? []), labels]);
    const gpu = byUuid.get(app.gpuUuid);
    if (app.usedMemoryMiB === undefined) continue;
    processSamples.push({
      name: "gpu_process_memory_used_bytes",
      value: app.usedMemoryMiB * 2 ** 20,
      timestamp: at,
      labels: {
        ...base,
        ...(gpu && { gpu: gpu.index, model: gpu.name }),
        uuid: app.gpuUuid,
        pid: String(app.pid),
        process: app.processName,
        ...labels,
      },
      type: "gauge",
      unit: "bytes",
      startTimestamp: null,
    });
  }
  const gpuLabels = new Map<string, Record<string, string>>();
  for (const [uuid, list] of perGpu) {
    const first = JSON.stringify(list[0]);
    if (Object.keys(list[0]!).length > 0 && list.every((l) => JSON.stringify(l) === first))
      gpuLabels.set(uuid, list[0]!);
  }
  return { gpuLabels, processSamples };
}

// Parsing what nvidia-smi prints: the CSV of `--query-gpu=… --format=csv,noheader,nounits` and the
// MIG devices of `-q -x`. A field reading [N/A], [Not Supported] or similar is absent — never 0.
import { XMLParser } from "fast-xml-parser";

export const GPU_QUERY = [
  "index",
  "uuid",
  "name",
  "utilization.gpu",
  "utilization.memory",
  "memory.used",
  "memory.total",
  "temperature.gpu",
  "power.draw",
  "power.limit",
  "clocks.sm",
  "ecc.errors.corrected.volatile.total",
  "ecc.errors.uncorrected.volatile.total",
  "clocks_throttle_reasons.active",
] as const;

export interface GpuReading {
  index: string;
  uuid: string;
  name: string;
  /** Query field → number, for the fields that had a value. */
  values: Partial<Record<(typeof GPU_QUERY)[number], number>>;
}

const MISSING = /^\[.*\]$|^N\/A$/;

export function parseQueryCsv(text: string): GpuReading[] {
  const readings: GpuReading[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length !== GPU_QUERY.length) {
      throw new Error(
        `nvidia-smi printed ${fields.length} fields where ${GPU_QUERY.length} were asked for: "${line}"`,
      );
    }
    const values: GpuReading["values"] = {};
    GPU_QUERY.forEach((field, i) => {
      const raw = fields[i]!;
      if (i < 3 || MISSING.test(raw)) return;
      const value = raw.startsWith("0x") ? parseInt(raw, 16) : Number(raw);
      if (Number.isFinite(value)) values[field] = value;
    });
    readings.push({ index: fields[0]!, uuid: fields[1]!, name: fields[2]!, values });
  }
  return readings;
}

export interface MigReading {
  gpuUuid: string;
  gpuInstance: string;
  computeInstance: string;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
}

const mib = (text: unknown) => {
  const match = /^(\d+(?:\.\d+)?)\s*MiB$/.exec(String(text ?? "").trim());
  return match ? Number(match[1]) * 2 ** 20 : undefined;
};
const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export function parseMigXml(xml: string): MigReading[] {
  type Mig = {
    gpu_instance_id?: unknown;
    compute_instance_id?: unknown;
    fb_memory_usage?: { used?: unknown; total?: unknown };
  };
  type Gpu = { uuid?: unknown; mig_devices?: { mig_device?: Mig | Mig[] } | string };
  const log = new XMLParser({ parseTagValue: false }).parse(xml) as {
    nvidia_smi_log?: { gpu?: Gpu | Gpu[] };
  };
  return list(log.nvidia_smi_log?.gpu).flatMap((gpu) =>
    list(typeof gpu.mig_devices === "object" ? gpu.mig_devices.mig_device : undefined).map(
      (mig) => {
        const used = mib(mig.fb_memory_usage?.used);
        const total = mib(mig.fb_memory_usage?.total);
        return {
          gpuUuid: String(gpu.uuid),
          gpuInstance: String(mig.gpu_instance_id),
          computeInstance: String(mig.compute_instance_id),
          ...(used !== undefined && { memoryUsedBytes: used }),
          ...(total !== undefined && { memoryTotalBytes: total }),
        };
      },
    ),
  );
}

/** The fields asked of `nvidia-smi --query-compute-apps`. */
export const APPS_QUERY = ["gpu_uuid", "pid", "process_name", "used_memory"] as const;

export interface ComputeApp {
  gpuUuid: string;
  pid: number;
  processName: string;
  /** Absent where nvidia-smi cannot read it ([N/A]: in a container without access, MIG). */
  usedMemoryMiB?: number;
}

/**
 * `--query-compute-apps=gpu_uuid,pid,process_name,used_memory --format=csv,noheader,nounits`.
 * A process name may hold commas: the fields around it are taken from both ends.
 */
export function parseComputeApps(text: string): ComputeApp[] {
  const apps: ComputeApp[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || /^No running/i.test(line.trim())) continue;
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length < APPS_QUERY.length)
      throw new Error(`nvidia-smi printed ${fields.length} compute-app fields: "${line}"`);
    const pid = Number(fields[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0)
      throw new Error(`nvidia-smi printed pid "${fields[1]}": "${line}"`);
    const memory = fields.at(-1)!;
    const used = MISSING.test(memory) ? undefined : Number(memory);
    apps.push({
      gpuUuid: fields[0]!,
      pid,
      processName: fields.slice(2, -1).join(", "),
      ...(used !== undefined && Number.isFinite(used) && { usedMemoryMiB: used }),
    });
  }
  return apps;
}

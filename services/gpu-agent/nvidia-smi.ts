// Parsing what nvidia-smi prints: the CSV of `--query-gpu=… --format=csv,noheader,nounits` and the
// MIG devices of `-q -x`. A field reading [N/A], [Not Supported] or similar is absent — never 0.
import { XMLParser } from "fast-xml-parser";

/** What every driver Vigil supports answers (the fallback when it cannot say what it takes). */
export const BASE_QUERY = [
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

/**
 * The fields asked for where the driver takes them (`--help-query-gpu`): the base ones, with the
 * non-deprecated clock event reasons, and the health fields DCGM reads — remapped rows, retired
 * pages, PCIe link generation and width, memory temperature, instant power, fan speed.
 */
export const GPU_QUERY = [
  ...BASE_QUERY.slice(0, -1),
  "clocks_event_reasons.active",
  "remapped_rows.correctable",
  "remapped_rows.uncorrectable",
  "retired_pages.single_bit_ecc.count",
  "retired_pages.double_bit.count",
  "pcie.link.gen.gpucurrent",
  "pcie.link.gen.max",
  "pcie.link.width.current",
  "pcie.link.width.max",
  "temperature.memory",
  "power.draw.instant",
  "fan.speed",
] as const;

export type GpuField = (typeof GPU_QUERY)[number] | (typeof BASE_QUERY)[number];

/** Yes/No fields, asked in a query of their own (only where the driver takes all of them). */
export const FLAGS_QUERY = [
  "uuid",
  "remapped_rows.pending",
  "remapped_rows.failure",
  "retired_pages.pending",
] as const;

/** The names `nvidia-smi --help-query-gpu` lists (each property with its aliases). */
export function parseHelpQueryGpu(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n"))
    if (line.startsWith('"')) for (const m of line.matchAll(/"([^"]+)"/g)) names.add(m[1]!);
  return names;
}

/**
 * The fields to ask this driver for: GPU_QUERY's that it takes (the clock reasons under their old
 * name on drivers before 535); BASE_QUERY when it did not say what it takes.
 */
export function gpuFieldsFor(accepted: Set<string> | undefined): GpuField[] {
  if (!accepted || accepted.size === 0) return [...BASE_QUERY];
  return GPU_QUERY.flatMap((field): GpuField[] => {
    if (accepted.has(field)) return [field];
    if (field === "clocks_event_reasons.active" && accepted.has("clocks_throttle_reasons.active"))
      return ["clocks_throttle_reasons.active"];
    return field === "index" || field === "uuid" || field === "name" ? [field] : [];
  });
}

export interface GpuReading {
  index: string;
  uuid: string;
  name: string;
  /** Query field → number, for the fields that had a value. */
  values: Partial<Record<GpuField, number>>;
}

const MISSING = /^\[.*\]$|^N\/A$/;

/** The CSV of `--query-gpu=<asked> --format=csv,noheader,nounits` (index, uuid, name first). */
export function parseQueryCsv(text: string, asked: readonly GpuField[] = GPU_QUERY): GpuReading[] {
  const readings: GpuReading[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length !== asked.length) {
      throw new Error(
        `nvidia-smi printed ${fields.length} fields where ${asked.length} were asked for: "${line}"`,
      );
    }
    const values: GpuReading["values"] = {};
    asked.forEach((field, i) => {
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

/** Per GPU uuid, its Yes/No health flags as 1/0 (a field it cannot read is absent). */
export function parseFlagsCsv(
  text: string,
): Map<string, Partial<Record<(typeof FLAGS_QUERY)[number], number>>> {
  const flags = new Map<string, Partial<Record<(typeof FLAGS_QUERY)[number], number>>>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length !== FLAGS_QUERY.length)
      throw new Error(`nvidia-smi printed ${fields.length} flag fields: "${line}"`);
    const values: Partial<Record<(typeof FLAGS_QUERY)[number], number>> = {};
    FLAGS_QUERY.forEach((field, i) => {
      if (i === 0) return;
      const raw = fields[i]!.toLowerCase();
      if (raw === "yes") values[field] = 1;
      else if (raw === "no") values[field] = 0;
    });
    flags.set(fields[0]!, values);
  }
  return flags;
}

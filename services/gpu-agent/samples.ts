// nvidia-smi readings as Vigil metric samples, in base units, labelled gpu (index), uuid and
// model. Fields nvidia-smi could not read produce no sample. Health as DCGM reads it: remapped rows
// (by kind; pending and failure flags), retired pages (by cause; pending), PCIe link generation and
// width against their maxima (a narrower link is degraded), memory temperature, instant power, fan.
import type { MetricSample, MetricType } from "../../schemas/types.js";
import type { FLAGS_QUERY, GpuReading, MigReading } from "./nvidia-smi.js";

/** NVML's clock throttle reason bits (nvmlClocksThrottleReason*). */
export const THROTTLE_REASONS: Record<string, number> = {
  gpu_idle: 0x1,
  applications_clocks_setting: 0x2,
  sw_power_cap: 0x4,
  hw_slowdown: 0x8,
  sync_boost: 0x10,
  sw_thermal_slowdown: 0x20,
  hw_thermal_slowdown: 0x40,
  hw_power_brake_slowdown: 0x80,
  display_clock_setting: 0x100,
};
/** Reasons that mean the GPU runs slower than it could while busy. */
const SLOWING = [
  "sw_power_cap",
  "hw_slowdown",
  "sw_thermal_slowdown",
  "hw_thermal_slowdown",
  "hw_power_brake_slowdown",
];

const MIB = 2 ** 20;

export function gpuSamples(
  readings: GpuReading[],
  migs: MigReading[],
  base: Record<string, string>,
  at: number,
  /** Per GPU uuid, its Yes/No health flags (parseFlagsCsv), where read. */
  health?: Map<string, Partial<Record<(typeof FLAGS_QUERY)[number], number>>>,
): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const gpu of readings) {
    const labels = { ...base, gpu: gpu.index, uuid: gpu.uuid, model: gpu.name };
    const add = (
      name: string,
      value: number | undefined,
      unit: string,
      type: MetricType = "gauge",
      extra: Record<string, string> = {},
    ) => {
      if (value !== undefined)
        samples.push({
          name,
          value,
          timestamp: at,
          labels: { ...labels, ...extra },
          type,
          unit,
          startTimestamp: null,
        });
    };
    const v = gpu.values;
    add("gpu_utilization_percent", v["utilization.gpu"], "percent");
    add("gpu_memory_utilization_percent", v["utilization.memory"], "percent");
    add(
      "gpu_memory_used_bytes",
      v["memory.used"] === undefined ? undefined : v["memory.used"] * MIB,
      "bytes",
    );
    add(
      "gpu_memory_total_bytes",
      v["memory.total"] === undefined ? undefined : v["memory.total"] * MIB,
      "bytes",
    );
    if (v["memory.used"] !== undefined && v["memory.total"])
      add("gpu_memory_used_percent", (100 * v["memory.used"]) / v["memory.total"], "percent");
    add("gpu_temperature_celsius", v["temperature.gpu"], "celsius");
    add("gpu_power_draw_watts", v["power.draw"], "watts");
    add("gpu_power_limit_watts", v["power.limit"], "watts");
    add(
      "gpu_sm_clock_hertz",
      v["clocks.sm"] === undefined ? undefined : v["clocks.sm"] * 1e6,
      "hertz",
    );
    add("gpu_ecc_errors_corrected_total", v["ecc.errors.corrected.volatile.total"], "", "counter");
    add(
      "gpu_ecc_errors_uncorrected_total",
      v["ecc.errors.uncorrected.volatile.total"],
      "",
      "counter",
    );
    add("gpu_remapped_rows", v["remapped_rows.correctable"], "", "gauge", { kind: "correctable" });
    add("gpu_remapped_rows", v["remapped_rows.uncorrectable"], "", "gauge", {
      kind: "uncorrectable",
    });
    add("gpu_retired_pages", v["retired_pages.single_bit_ecc.count"], "", "gauge", {
      cause: "single_bit_ecc",
    });
    add("gpu_retired_pages", v["retired_pages.double_bit.count"], "", "gauge", {
      cause: "double_bit_ecc",
    });
    const flags = health?.get(gpu.uuid);
    add("gpu_remapped_rows_pending", flags?.["remapped_rows.pending"], "");
    add("gpu_remapped_rows_failure", flags?.["remapped_rows.failure"], "");
    add("gpu_retired_pages_pending", flags?.["retired_pages.pending"], "");
    add("gpu_pcie_link_gen", v["pcie.link.gen.gpucurrent"], "");
    add("gpu_pcie_link_gen_max", v["pcie.link.gen.max"], "");
    add("gpu_pcie_link_width", v["pcie.link.width.current"], "");
    add("gpu_pcie_link_width_max", v["pcie.link.width.max"], "");
    // Fewer lanes than the slot and GPU allow is a fault (a bad riser, a reseated card); a lower
    // generation is not — GPUs drop to gen 1 when idle to save power.
    const width = v["pcie.link.width.current"];
    const widthMax = v["pcie.link.width.max"];
    if (width !== undefined && widthMax !== undefined)
      add("gpu_pcie_link_width_degraded", width < widthMax ? 1 : 0, "");
    add("gpu_memory_temperature_celsius", v["temperature.memory"], "celsius");
    add("gpu_power_draw_instant_watts", v["power.draw.instant"], "watts");
    add("gpu_fan_speed_percent", v["fan.speed"], "percent");
    const mask = v["clocks_event_reasons.active"] ?? v["clocks_throttle_reasons.active"];
    if (mask !== undefined) {
      for (const [reason, bit] of Object.entries(THROTTLE_REASONS))
        add("gpu_throttle_reason", mask & bit ? 1 : 0, "", "gauge", { reason });
      add("gpu_throttled", SLOWING.some((r) => mask & THROTTLE_REASONS[r]!) ? 1 : 0, "");
    }
  }
  for (const mig of migs) {
    const gpu = readings.find((r) => r.uuid === mig.gpuUuid);
    const labels = {
      ...base,
      gpu: gpu?.index ?? "",
      uuid: mig.gpuUuid,
      model: gpu?.name ?? "",
      gpu_instance: mig.gpuInstance,
      compute_instance: mig.computeInstance,
    };
    for (const [name, value] of [
      ["gpu_mig_memory_used_bytes", mig.memoryUsedBytes],
      ["gpu_mig_memory_total_bytes", mig.memoryTotalBytes],
    ] as const) {
      if (value !== undefined)
        samples.push({
          name,
          value,
          timestamp: at,
          labels,
          type: "gauge",
          unit: "bytes",
          startTimestamp: null,
        });
    }
  }
  return samples;
}

/** GPUs the driver lists on the host, and how many of those expected are missing. */
export function nodeGpuSamples(
  listed: number,
  expected: number | undefined,
  base: Record<string, string>,
  at: number,
): MetricSample[] {
  const sample = (name: string, value: number): MetricSample => ({
    name,
    value,
    timestamp: at,
    labels: base,
    type: "gauge",
    unit: "",
    startTimestamp: null,
  });
  return [
    sample("node_gpus", listed),
    ...(expected === undefined
      ? []
      : [sample("node_gpus_missing", Math.max(0, expected - listed))]),
  ];
}

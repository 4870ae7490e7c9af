import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { MetricSample } from "../../../schemas/types.js";
import {
  BASE_QUERY,
  GPU_QUERY,
  gpuFieldsFor,
  parseFlagsCsv,
  parseHelpQueryGpu,
  parseMigXml,
  parseQueryCsv,
} from "../../../services/gpu-agent/nvidia-smi.js";
import { gpuSamples } from "../../../services/gpu-agent/samples.js";

const fixture = (name: string) => readFileSync(`test/fixtures/nvidia-smi/${name}`, "utf8");
const at = 1_764_000_000_000;
const pick = (samples: MetricSample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .map((s) => s.value);

describe("nvidia-smi readings", () => {
  it("turns two H100s into samples in base units, labelled by index, uuid and model", () => {
    const samples = gpuSamples(
      parseQueryCsv(fixture("h100-x2.csv"), BASE_QUERY),
      [],
      { host: "gpu-node-7" },
      at,
    );
    const gpu0 = {
      gpu: "0",
      uuid: "GPU-8a2f6c1e-93b4-4c1d-9e2a-1f0b7d3c5e21",
      model: "NVIDIA H100 80GB HBM3",
      host: "gpu-node-7",
    };
    expect(pick(samples, "gpu_utilization_percent", gpu0)).toEqual([97]);
    expect(pick(samples, "gpu_memory_used_bytes", gpu0)).toEqual([71234 * 2 ** 20]);
    expect(pick(samples, "gpu_memory_used_percent", gpu0)[0]).toBeCloseTo((100 * 71234) / 81559, 6);
    expect(pick(samples, "gpu_temperature_celsius", gpu0)).toEqual([78]);
    expect(pick(samples, "gpu_power_draw_watts", gpu0)).toEqual([688.41]);
    expect(pick(samples, "gpu_sm_clock_hertz", gpu0)).toEqual([1.98e9]);
    expect(
      samples.find((s) => s.name === "gpu_ecc_errors_corrected_total" && s.labels.gpu === "1"),
    ).toMatchObject({ value: 2, type: "counter" });
  });

  it("decodes the throttle reason bitmask, and calls a power-capped busy GPU throttled but an idle one not", () => {
    const samples = gpuSamples(parseQueryCsv(fixture("h100-x2.csv"), BASE_QUERY), [], {}, at);
    expect(pick(samples, "gpu_throttle_reason", { gpu: "0", reason: "sw_power_cap" })).toEqual([1]);
    expect(
      pick(samples, "gpu_throttle_reason", { gpu: "0", reason: "hw_thermal_slowdown" }),
    ).toEqual([0]);
    expect(pick(samples, "gpu_throttle_reason", { gpu: "1", reason: "gpu_idle" })).toEqual([1]);
    expect(pick(samples, "gpu_throttled")).toEqual([1, 0]);
  });

  it("leaves out fields nvidia-smi could not read instead of reporting zero", () => {
    const samples = gpuSamples(parseQueryCsv(fixture("t4-na.csv"), BASE_QUERY), [], {}, at);
    expect(pick(samples, "gpu_power_draw_watts")).toEqual([]);
    expect(pick(samples, "gpu_ecc_errors_uncorrected_total")).toEqual([]);
    expect(pick(samples, "gpu_utilization_percent")).toEqual([42]);
  });

  it("reports MIG devices' memory from the XML report", () => {
    const readings = parseQueryCsv(fixture("a100-mig.csv"), BASE_QUERY);
    const migs = parseMigXml(fixture("a100-mig.xml"));
    expect(migs).toEqual([
      {
        gpuUuid: "GPU-5e1a7b3c-2d4f-4a6b-8c9d-0e1f2a3b4c5d",
        gpuInstance: "1",
        computeInstance: "0",
        memoryUsedBytes: 8192 * 2 ** 20,
        memoryTotalBytes: 19968 * 2 ** 20,
      },
      {
        gpuUuid: "GPU-5e1a7b3c-2d4f-4a6b-8c9d-0e1f2a3b4c5d",
        gpuInstance: "2",
        computeInstance: "0",
        memoryUsedBytes: 2048 * 2 ** 20,
        memoryTotalBytes: 19968 * 2 ** 20,
      },
    ]);
    const samples = gpuSamples(readings, migs, {}, at);
    expect(pick(samples, "gpu_utilization_percent")).toEqual([]); // [N/A] in MIG mode
    expect(pick(samples, "gpu_mig_memory_used_bytes", { gpu: "0", gpu_instance: "2" })).toEqual([
      2048 * 2 ** 20,
    ]);
  });

  it("refuses output with an unexpected number of fields, quoting the line", () => {
    expect(() => parseQueryCsv("0, GPU-1, H100, 97\n")).toThrow(
      /printed 4 fields where 25 were asked for: "0, GPU-1, H100, 97"/,
    );
  });

  it("asks a driver only for the fields its --help-query-gpu lists, and the base ones when it lists none", () => {
    const help = [
      'List of valid properties to query for the switch "--query-gpu=":',
      "",
      '"index"',
      "Zero based index of the GPU.",
      '"uuid" or "gpu_uuid"',
      '"name" or "gpu_name"',
      '"utilization.gpu"',
      '"clocks_throttle_reasons.active"',
      'Bitmask of active clock throttle reasons. See "nvidia-smi -q" for details.',
      '"remapped_rows.correctable"',
    ].join("\n");
    const accepted = parseHelpQueryGpu(help);
    expect(accepted.has("gpu_uuid") && accepted.has("remapped_rows.correctable")).toBe(true);
    // A driver before 535: the clock reasons under their old name; what it lacks, not asked.
    expect(gpuFieldsFor(accepted)).toEqual([
      "index",
      "uuid",
      "name",
      "utilization.gpu",
      "clocks_throttle_reasons.active",
      "remapped_rows.correctable",
    ]);
    expect(gpuFieldsFor(undefined)).toEqual([...BASE_QUERY]);
    expect(gpuFieldsFor(new Set(GPU_QUERY))).toEqual([...GPU_QUERY]);
  });

  it("reads DCGM-grade health: remapped rows, retired pages, PCIe link, memory temperature, instant power", () => {
    // An H100 under load, driver 590 (values as a real capture has them; fan and pages N/A).
    const row =
      "0, GPU-8a2f, NVIDIA H100 80GB HBM3, 100, 20, 16384, 81559, 64, 625.68, 700.00, 1980, 0, 0, 0x0000000000000001, 2, 1, [N/A], [N/A], 5, 5, 8, 16, 54, 640.12, [N/A]";
    const [gpu] = parseQueryCsv(row + "\n");
    const health = parseFlagsCsv("GPU-8a2f, Yes, No, [N/A]\n");
    const samples = gpuSamples([gpu!], [], {}, at, health);
    const value = (name: string, label?: [string, string]) =>
      samples.find((s) => s.name === name && (!label || s.labels[label[0]] === label[1]))?.value;
    expect(value("gpu_remapped_rows", ["kind", "correctable"])).toBe(2);
    expect(value("gpu_remapped_rows", ["kind", "uncorrectable"])).toBe(1);
    expect(value("gpu_remapped_rows_pending")).toBe(1);
    expect(value("gpu_remapped_rows_failure")).toBe(0);
    expect(value("gpu_retired_pages_pending")).toBeUndefined();
    expect(value("gpu_retired_pages", ["cause", "single_bit_ecc"])).toBeUndefined();
    expect([value("gpu_pcie_link_gen"), value("gpu_pcie_link_gen_max")]).toEqual([5, 5]);
    expect([value("gpu_pcie_link_width"), value("gpu_pcie_link_width_max")]).toEqual([8, 16]);
    expect(value("gpu_pcie_link_width_degraded")).toBe(1);
    expect(value("gpu_memory_temperature_celsius")).toBe(54);
    expect(value("gpu_power_draw_instant_watts")).toBe(640.12);
    expect(value("gpu_fan_speed_percent")).toBeUndefined();
    expect(value("gpu_throttle_reason", ["reason", "gpu_idle"])).toBe(1);
  });
});

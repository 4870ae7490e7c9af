// NVLink error counters per link (`nvidia-smi nvlink -e`, both driver shapes) and the PCIe replay
// counter from `-q -x` — the latter checked on real captures (Telegraf's nvidia_smi test data,
// copied from ../shared/conformance into test/fixtures/nvidia-smi/captures).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseNvlinkErrors, parsePcieReplays } from "../../../services/gpu-agent/links.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/nvidia-smi");
const CAPTURES = join(FIXTURES, "captures");

describe("the GPU's link errors", () => {
  it("reads NVLink error counters per GPU and link in both driver shapes, leaving N/A links out", () => {
    const errors = parseNvlinkErrors(readFileSync(join(FIXTURES, "nvlink-errors.txt"), "utf8"));
    const a100 = "GPU-aaaaaaaa-0000-0000-0000-000000000000";
    const v100 = "GPU-bbbbbbbb-0000-0000-0000-000000000000";
    expect(errors.filter((e) => e.uuid === a100 && e.link === "1")).toEqual([
      { uuid: a100, link: "1", kind: "replay", count: 12 },
      { uuid: a100, link: "1", kind: "recovery", count: 1 },
      { uuid: a100, link: "1", kind: "crc", count: 4093 },
    ]);
    expect(errors.some((e) => e.link === "2")).toBe(false);
    expect(errors.filter((e) => e.uuid === v100).map((e) => [e.kind, e.count])).toEqual([
      ["crc_flit", 7],
      ["crc_data", 0],
      ["replay", 3],
      ["recovery", 0],
    ]);
    expect(parseNvlinkErrors("NVLink is not supported on this GPU\n")).toEqual([]);
  });

  it("reads the PCIe replay counter of every GPU in real -q -x captures, and none where absent", () => {
    const files = readdirSync(CAPTURES).filter((f) => f.endsWith(".xml"));
    expect(files.length).toBe(4);
    for (const file of files) {
      const replays = parsePcieReplays(readFileSync(join(CAPTURES, file), "utf8"));
      expect(replays.length, file).toBeGreaterThan(0);
      for (const r of replays) expect(r.uuid, file).toMatch(/^GPU-/);
    }
    const a100 = parsePcieReplays(readFileSync(join(CAPTURES, "a100-sxm4-v12.xml"), "utf8"));
    expect(a100).toEqual([
      { uuid: "GPU-513536b6-7d19-9063-b049-1e69664bb298", replays: 0, rollovers: 0 },
    ]);
    const old = parsePcieReplays(readFileSync(join(CAPTURES, "gtx-1070-ti.xml"), "utf8"));
    expect(old[0]!.replays).toBeUndefined();
  });
});

describe("the GPU's link errors as samples", () => {
  it("are counters labelled like the GPU, per link and kind; GPUs the agent does not list are left out", async () => {
    const { linkSamples } = await import("../../../services/gpu-agent/links.js");
    const gpus = new Map([["GPU-a", { host: "n1", gpu: "0", uuid: "GPU-a", slurm_job: "7" }]]);
    const samples = linkSamples(
      [
        { uuid: "GPU-a", link: "1", kind: "crc", count: 4093 },
        { uuid: "GPU-z", link: "0", kind: "crc", count: 1 },
      ],
      [{ uuid: "GPU-a", replays: 12, rollovers: 0 }],
      gpus,
      1_000,
    );
    expect(samples.map((s) => [s.name, s.value, s.type, s.labels])).toEqual([
      [
        "gpu_nvlink_errors_total",
        4093,
        "counter",
        { ...gpus.get("GPU-a"), link: "1", kind: "crc" },
      ],
      ["gpu_pcie_replay_total", 12, "counter", gpus.get("GPU-a")],
      ["gpu_pcie_replay_rollover_total", 0, "counter", gpus.get("GPU-a")],
    ]);
  });
});

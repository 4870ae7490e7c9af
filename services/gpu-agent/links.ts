// The GPU's links, where nvidia-smi reports their errors: NVLink error counters per link
// (`nvidia-smi nvlink -e`) and the PCIe replay counter (`-q -x`, <pci><replay_counter>). Both
// only grow (until a reset or a reboot): they become counters, and rules take their increase.
//
//   nvidia-smi nvlink -e          GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-…)
//                                        Link 0: Replay Errors: 0
//                                        Link 0: Recovery Errors: 0
//                                        Link 0: CRC Errors: 0
//   (older drivers: "CRC FLIT Error", "CRC Data Error", "Replay Error", "Recovery Error")
import { XMLParser } from "fast-xml-parser";
import type { MetricSample } from "../../schemas/types.js";

export interface LinkErrors {
  uuid: string;
  link: string;
  /** replay, recovery, crc, crc_flit, crc_data… as the driver names them. */
  kind: string;
  count: number;
}

const GPU = /^GPU \d+: .*\(UUID: (GPU-[0-9a-fA-F-]+)\)\s*$/;
const LINK = /^\s*Link (\d+): ([A-Za-z][A-Za-z ]*?)\s*:\s*(\S+)\s*$/;

export function parseNvlinkErrors(text: string): LinkErrors[] {
  const out: LinkErrors[] = [];
  let uuid: string | undefined;
  for (const line of text.split("\n")) {
    const gpu = GPU.exec(line);
    if (gpu) {
      uuid = gpu[1]!;
      continue;
    }
    const link = LINK.exec(line);
    if (!link || !uuid) continue;
    const count = Number(link[3]);
    if (!Number.isFinite(count)) continue; // N/A: the link is not there
    const kind = link[2]!
      .toLowerCase()
      .replace(/\s*errors?$/, "")
      .trim()
      .replace(/\s+/g, "_");
    out.push({ uuid, link: link[1]!, kind, count });
  }
  return out;
}

export interface PcieReplay {
  uuid: string;
  replays?: number;
  rollovers?: number;
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false });
const number = (v: unknown) => (/^\d+$/.test(String(v ?? "").trim()) ? Number(v) : undefined);

/** The PCIe replay counters of each GPU in `nvidia-smi -q -x`. */
export function parsePcieReplays(xml: string): PcieReplay[] {
  type Gpu = {
    uuid?: unknown;
    pci?: { replay_counter?: unknown; replay_rollover_counter?: unknown };
  };
  const doc = parser.parse(xml) as { nvidia_smi_log?: { gpu?: Gpu | Gpu[] } };
  const gpus = doc.nvidia_smi_log?.gpu;
  return (Array.isArray(gpus) ? gpus : gpus ? [gpus] : []).flatMap((g) =>
    typeof g.uuid === "string"
      ? [
          {
            uuid: g.uuid.trim(),
            replays: number(g.pci?.replay_counter),
            rollovers: number(g.pci?.replay_rollover_counter),
          },
        ]
      : [],
  );
}

/** Link errors as counters, labelled like the GPU's other samples. */
export function linkSamples(
  nvlink: LinkErrors[],
  replays: PcieReplay[],
  gpus: Map<string, Record<string, string>>,
  at: number,
): MetricSample[] {
  const out: MetricSample[] = [];
  const add = (uuid: string, name: string, value: number | undefined, extra = {}) => {
    const labels = gpus.get(uuid);
    if (labels && value !== undefined)
      out.push({
        name,
        value,
        timestamp: at,
        labels: { ...labels, ...extra },
        type: "counter",
        unit: "",
        startTimestamp: null,
      });
  };
  for (const e of nvlink)
    add(e.uuid, "gpu_nvlink_errors_total", e.count, { link: e.link, kind: e.kind });
  for (const r of replays) {
    add(r.uuid, "gpu_pcie_replay_total", r.replays);
    add(r.uuid, "gpu_pcie_replay_rollover_total", r.rollovers);
  }
  return out;
}

// Kernel-log records as log events of the host, and an Xid line attributed to its GPU: the driver
// names the device by PCI address, the agent knows which GPU (index, uuid) sits there and whose
// workload runs on it, so "Xid 79" arrives with the GPU, pod and Slurm job it hit — the join a
// dmesg reader without the agent's knowledge cannot make.
import type { LogEvent } from "../../schemas/types.js";
import { pciBusId, XID_LINE } from "../../schemas/xid.js";
import { severityOfLevel, type KernelRecord } from "./kernel-log.js";

/** A GPU as kernel lines name it (by PCI bus id, nvidia-smi's form), with its labels. */
export type GpusByPci = Map<string, Record<string, string>>;

/** Records at or above `maxLevel`'s urgency, and every NVIDIA driver line, as log events. */
export function kernelEvents(
  records: KernelRecord[],
  options: { host: string; maxLevel: number; gpus: GpusByPci; labels: Record<string, string> },
): LogEvent[] {
  const events: LogEvent[] = [];
  for (const record of records) {
    const xid = XID_LINE.exec(record.message);
    if (record.level > options.maxLevel && !xid && !record.message.startsWith("NVRM:")) continue;
    const attributes: Record<string, string> = { ...options.labels, source: "kernel" };
    if (xid) {
      const busId = pciBusId(xid[1]!);
      Object.assign(attributes, { pci: xid[1]!, pci_bus_id: busId, xid: xid[2]! });
      Object.assign(attributes, options.gpus.get(busId) ?? {});
    }
    events.push({
      timestamp: record.timestamp,
      severity: xid && record.level > 3 ? "error" : severityOfLevel(record.level),
      message: record.message,
      service: "kernel",
      host: options.host,
      attributes,
      traceId: null,
      spanId: null,
    });
  }
  return events;
}

// Cleaning one log event: what cannot be stored is refused with the field named; what can be
// recognised is lifted into attributes — NVIDIA driver Xid errors ("NVRM: Xid (PCI:0000:3b:00):
// 79, pid=…") get `xid`, `pci` and `pci_bus_id`, and their class in NVIDIA's Xid catalog:
// `xid_name`, `xid_action` (none, restart_app, reset_gpu, reboot_node, rma) and `xid_severity`, so
// rules count them per GPU and page with the right runbook.
import type { LogEvent } from "../../schemas/types.js";
import { pciBusId, recoveryActionOf, XID_LINE, xidClass } from "../../schemas/xid.js";
const YEAR = 365 * 24 * 3_600_000;

export type Cleaned = { event: LogEvent } | { problem: string };

export function cleanEvent(event: LogEvent, now: number): Cleaned {
  if (!Number.isFinite(event.timestamp) || event.timestamp <= 0)
    return { problem: `timestamp: ${event.timestamp} is not a time` };
  if (event.timestamp > now + 3_600_000)
    return {
      problem: `timestamp: ${new Date(event.timestamp).toISOString()} is more than an hour ahead`,
    };
  if (event.timestamp < now - YEAR)
    return {
      problem: `timestamp: ${new Date(event.timestamp).toISOString()} is more than a year old`,
    };
  if (event.message.trim() === "") return { problem: "message: empty" };
  const xid = XID_LINE.exec(event.message);
  if (!xid) return { event };
  const severity =
    event.severity === "unknown" || event.severity === "info" ? "error" : event.severity;
  const found = xidClass(Number(xid[2]));
  const action =
    (found.mnemonic === "GPU_RECOVERY_ACTION_CHANGED" && recoveryActionOf(event.message)) ||
    found.action;
  return {
    event: {
      ...event,
      severity,
      attributes: {
        ...event.attributes,
        xid: xid[2]!,
        pci: xid[1]!,
        pci_bus_id: pciBusId(xid[1]!),
        xid_name: found.mnemonic,
        xid_action: action,
        xid_severity: found.severity,
      },
    },
  };
}

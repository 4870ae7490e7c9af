// Cleaning one log event: what cannot be stored is refused with the field named; what can be
// recognised is lifted into attributes — NVIDIA driver Xid errors ("NVRM: Xid (PCI:0000:3b:00):
// 79, pid=…") get `xid` and `pci`, so dashboards and rules can count them per GPU.
import type { LogEvent } from "../../schemas/types.js";

const XID = /NVRM: Xid \(PCI:([0-9a-fA-F:.]+)\): (\d+)/;
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
  const xid = XID.exec(event.message);
  if (!xid) return { event };
  const severity =
    event.severity === "unknown" || event.severity === "info" ? "error" : event.severity;
  return {
    event: { ...event, severity, attributes: { ...event.attributes, xid: xid[2]!, pci: xid[1]! } },
  };
}

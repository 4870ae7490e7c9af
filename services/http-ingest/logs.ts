// JSON-lines log ingest: one JSON object per line, as log forwarders batch them.
//   {"timestamp":"2026-11-25T10:00:00Z","severity":"error","message":"…","service":"trainer",
//    "host":"gpu-node-7","attributes":{"job":"llama"},"trace_id":"…","span_id":"…"}
// `message` is required; timestamp is ISO 8601 or epoch milliseconds (default: when received).
import { LineError } from "../chassis/line-error.js";
import type { LogEvent, LogSeverity } from "../../schemas/types.js";

export class LogLineError extends LineError {
  override name = "LogLineError";
}

const SEVERITIES: Record<string, LogSeverity> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  information: "info",
  notice: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
  err: "error",
  fatal: "fatal",
  critical: "fatal",
  crit: "fatal",
  emergency: "fatal",
  emerg: "fatal",
  alert: "fatal",
};

export function severityOf(text: unknown): LogSeverity {
  return typeof text === "string" ? (SEVERITIES[text.toLowerCase()] ?? "unknown") : "unknown";
}

const optionalString = (value: unknown, field: string, line: number): string | null => {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new LogLineError(line, `${field}: expected a string`);
  return value;
};

export function parseLogLines(body: string, receivedAt: number): LogEvent[] {
  const events: LogEvent[] = [];
  body.split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(raw) as Record<string, unknown>;
    } catch (error) {
      throw new LogLineError(line, `not JSON: ${(error as Error).message}`);
    }
    if (typeof record !== "object" || record === null || Array.isArray(record))
      throw new LogLineError(line, "expected a JSON object");
    if (typeof record.message !== "string")
      throw new LogLineError(line, "message: expected a string");
    const ts = record.timestamp;
    const timestamp =
      ts === undefined
        ? receivedAt
        : typeof ts === "number"
          ? ts
          : typeof ts === "string"
            ? Date.parse(ts)
            : NaN;
    if (!Number.isFinite(timestamp))
      throw new LogLineError(
        line,
        `timestamp: expected ISO 8601 or epoch milliseconds, got ${JSON.stringify(ts)}`,
      );
    const attributes: Record<string, string> = {};
    if (record.attributes !== undefined) {
      if (
        typeof record.attributes !== "object" ||
        record.attributes === null ||
        Array.isArray(record.attributes)
      ) {
        throw new LogLineError(line, "attributes: expected an object");
      }
      for (const [key, value] of Object.entries(record.attributes))
        attributes[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    events.push({
      timestamp: Math.trunc(timestamp),
      severity: severityOf(record.severity ?? record.level),
      message: record.message,
      service: optionalString(record.service, "service", line) ?? "",
      host: optionalString(record.host, "host", line) ?? "",
      attributes,
      traceId: optionalString(record.trace_id ?? record.traceId, "trace_id", line),
      spanId: optionalString(record.span_id ?? record.spanId, "span_id", line),
    });
  });
  return events;
}

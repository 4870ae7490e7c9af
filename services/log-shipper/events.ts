// Log lines as log events: JSON objects are read field by field; plain text gets its severity
// from the first level word and its time from a leading ISO 8601 timestamp, else the time it was
// read. Bytes that are not valid UTF-8 are decoded with replacement characters and kept whole,
// base64, in the attribute raw_base64 — never dropped.
import type { LogEvent } from "../../schemas/types.js";
import { severityOf } from "../http-ingest/logs.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");
const LEVEL =
  /\b(TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERR(?:OR)?|CRIT(?:ICAL)?|FATAL|EMERG(?:ENCY)?|ALERT)\b/i;
const LEADING_TIME =
  /^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\]?/;

export interface Origin {
  host: string;
  service: string;
  file: string;
}

export function decodeLine(bytes: Buffer): { text: string; invalid: boolean } {
  try {
    return { text: utf8.decode(bytes), invalid: false };
  } catch {
    return { text: lossy.decode(bytes), invalid: true };
  }
}

function fromJson(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const str = (value: unknown) =>
  typeof value === "string"
    ? value
    : value === undefined || value === null
      ? undefined
      : JSON.stringify(value);

export function toEvent(bytes: Buffer, origin: Origin, readAt: number): LogEvent {
  const { text, invalid } = decodeLine(bytes);
  const attributes: Record<string, string> = { file: origin.file };
  if (invalid) {
    attributes.encoding_error = "invalid UTF-8 replaced with U+FFFD";
    attributes.raw_base64 = bytes.toString("base64");
  }
  const json = invalid ? undefined : fromJson(text);
  if (json) {
    const {
      message,
      msg,
      level,
      severity,
      timestamp,
      time,
      service,
      host,
      trace_id,
      span_id,
      ...rest
    } = json;
    for (const [key, value] of Object.entries(rest)) attributes[key] = str(value) ?? "";
    const ts = timestamp ?? time;
    const parsed = typeof ts === "number" ? ts : typeof ts === "string" ? Date.parse(ts) : NaN;
    return {
      timestamp: Number.isFinite(parsed) ? Math.trunc(parsed) : readAt,
      severity: severityOf(level ?? severity),
      message: str(message ?? msg) ?? text,
      service: str(service) ?? origin.service,
      host: str(host) ?? origin.host,
      attributes,
      traceId: str(trace_id) ?? null,
      spanId: str(span_id) ?? null,
    };
  }
  const leading = LEADING_TIME.exec(text)?.[1];
  const time = leading ? Date.parse(leading.replace(" ", "T").replace(",", ".")) : NaN;
  return {
    timestamp: Number.isFinite(time) ? time : readAt,
    severity: severityOf(LEVEL.exec(text)?.[1]),
    message: text,
    service: origin.service,
    host: origin.host,
    attributes,
    traceId: null,
    spanId: null,
  };
}

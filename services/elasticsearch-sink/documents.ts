// Log events and alerts as Elasticsearch documents, each with a deterministic _id derived from
// its content, so a replay — or a producer's retried send — creates no duplicate.
import { createHash } from "node:crypto";
import type { Alert, LogEvent } from "../../schemas/types.js";

export interface Doc {
  /** Data stream or index to write to. */
  index: string;
  id: string;
  body: Record<string, unknown>;
}

export type IndexMode = "data-stream" | "dated";

const idOf = (parts: unknown[]) =>
  createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 27);

const sortedEntries = (record: Record<string, string>) =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1));

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll("-", ".");

/** Dated indices follow the event's own date, so a replay always lands in the same index. */
export function indexFor(base: string, mode: IndexMode, timestamp: number): string {
  return mode === "data-stream" ? base : `${base}-${day(timestamp)}`;
}

/**
 * `occurrence` tells apart identical events within one record (the same line logged twice in
 * the same millisecond), which are real events, not duplicates.
 */
export function logDocument(
  source: string,
  event: LogEvent,
  occurrence: number,
  base: string,
  mode: IndexMode,
): Doc {
  const attributes = sortedEntries(event.attributes);
  return {
    index: indexFor(base, mode, event.timestamp),
    id: idOf([
      source,
      event.timestamp,
      event.severity,
      event.service,
      event.host,
      event.message,
      attributes,
      event.traceId,
      event.spanId,
      occurrence,
    ]),
    body: {
      "@timestamp": new Date(event.timestamp).toISOString(),
      severity: event.severity,
      message: event.message,
      service: event.service,
      host: event.host,
      source,
      attributes: Object.fromEntries(attributes),
      ...(event.traceId !== null && { trace: { id: event.traceId } }),
      ...(event.spanId !== null && { span: { id: event.spanId } }),
    },
  };
}

/** One document per alert event: a state change, or a re-send while firing (same id). */
export function alertDocument(alert: Alert, base: string, mode: IndexMode): Doc {
  return {
    index: indexFor(base, mode, alert.startsAt),
    id: idOf([alert.fingerprint, alert.status, alert.startsAt, alert.endsAt]),
    body: {
      "@timestamp": new Date(alert.endsAt ?? alert.startsAt).toISOString(),
      fingerprint: alert.fingerprint,
      rule: alert.rule,
      severity: alert.severity,
      status: alert.status,
      labels: Object.fromEntries(sortedEntries(alert.labels)),
      summary: alert.annotations.summary,
      description: alert.annotations.description,
      runbook_url: alert.annotations.runbook_url,
      startsAt: new Date(alert.startsAt).toISOString(),
      endsAt: alert.endsAt === null ? null : new Date(alert.endsAt).toISOString(),
      value: alert.value,
      threshold: alert.threshold,
    },
  };
}

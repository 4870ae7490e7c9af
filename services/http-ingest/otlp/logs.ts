// OTLP log records → Vigil log events: severity from severity_number (or its text), the body as
// the message (structured bodies as JSON), trace and span ids as hex, `service.name` and
// `host.name` from the resource; the record's attributes over the resource's and the scope's.
import type { LogEvent, LogSeverity } from "../../../schemas/types.js";
import { severityOf } from "../logs.js";
import type { LogsRequest } from "./proto.js";
import { attributeMap, hexId, msOfNanos, textOf } from "./values.js";

/** SeverityNumber ranges of the log data model: 1–4 TRACE … 21–24 FATAL. */
const RANGES: LogSeverity[] = ["trace", "debug", "info", "warn", "error", "fatal"];
const BY_NAME: Record<string, number> = Object.fromEntries(
  RANGES.flatMap((s, i) =>
    [1, 2, 3, 4].map((n) => [`SEVERITY_NUMBER_${s.toUpperCase()}${n === 1 ? "" : n}`, i * 4 + n]),
  ),
);

export function severityOfNumber(
  number: number | string | null | undefined,
  text: string | null | undefined,
): LogSeverity {
  const n = typeof number === "string" ? (BY_NAME[number] ?? 0) : (number ?? 0);
  if (n >= 1 && n <= 24) return RANGES[Math.floor((n - 1) / 4)]!;
  return severityOf(text ?? undefined);
}

export interface ConvertedLogs {
  events: LogEvent[];
  rejected: number;
  reasons: string[];
}

export function eventsOfOtlp(request: LogsRequest, receivedAt: number): ConvertedLogs {
  const out: ConvertedLogs = { events: [], rejected: 0, reasons: [] };
  (request.resourceLogs ?? []).forEach((rl, r) => {
    const resource = attributeMap(rl.resource?.attributes);
    (rl.scopeLogs ?? []).forEach((sl, s) => {
      const scope: Record<string, string> = {};
      if (sl.scope?.name) scope["otel.scope.name"] = sl.scope.name;
      if (sl.scope?.version) scope["otel.scope.version"] = sl.scope.version;
      (sl.logRecords ?? []).forEach((record, i) => {
        try {
          const time = msOfNanos(record.timeUnixNano) || msOfNanos(record.observedTimeUnixNano);
          const attributes = { ...resource, ...scope, ...attributeMap(record.attributes) };
          delete attributes["service.name"];
          delete attributes["host.name"];
          if (record.eventName) attributes["event.name"] = record.eventName;
          out.events.push({
            timestamp: time > 0 ? time : receivedAt,
            severity: severityOfNumber(record.severityNumber, record.severityText),
            message: textOf(record.body),
            service: resource["service.name"] ?? "",
            host: resource["host.name"] ?? "",
            attributes,
            traceId: hexId(record.traceId),
            spanId: hexId(record.spanId),
          });
        } catch (error) {
          out.rejected += 1;
          if (out.reasons.length < 5)
            out.reasons.push(
              `resourceLogs[${r}].scopeLogs[${s}].logRecords[${i}]: ${(error as Error).message}`,
            );
        }
      });
    });
  });
  return out;
}

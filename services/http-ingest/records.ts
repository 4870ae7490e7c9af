// Parsed points and log events as Kafka records: grouped by host (so one host's data stays in
// order on one partition) and split so no record carries more than `maxPerRecord` items.
import { groupBy } from "../chassis/group.js";
import { encode } from "../../schemas/codec.js";
import type { LogEvent, MetricSample } from "../../schemas/types.js";
import type { OutboundRecord } from "../chassis/producer.js";
import type { LinePoint } from "./line-protocol.js";
import { severityOf } from "./logs.js";
import { metricNameOf, validLabels } from "../../schemas/names.js";

/**
 * One sample per numeric field: the field "value" keeps the measurement's name, others append it;
 * names InfluxDB accepts and Prometheus does not (`cpu-load`, tag `my-tag`) made valid.
 *
 * A point's string fields are kept as one log event (attributes: its tags and string fields;
 * message: its `message` field, else the fields as `key="value"`). Text is not a sample's value,
 * and as labels free text (a syslog message, an error string) would make a new series per value;
 * as a log event it is searchable in Elasticsearch and can be alerted on like any log.
 */
export function samplesOf(
  points: LinePoint[],
  receivedAt: number,
): { samples: MetricSample[]; events: LogEvent[] } {
  const samples: MetricSample[] = [];
  const events: LogEvent[] = [];
  for (const point of points) {
    const measurement = metricNameOf(point.measurement);
    const labels = validLabels(point.tags);
    const timestamp = point.timestamp ?? receivedAt;
    const text: [string, string][] = [];
    for (const [field, raw] of Object.entries(point.fields)) {
      if (typeof raw === "string") {
        text.push([field, raw]);
        continue;
      }
      samples.push({
        name: field === "value" ? measurement : metricNameOf(`${measurement}_${field}`),
        value: typeof raw === "boolean" ? Number(raw) : raw,
        timestamp,
        labels,
        type: "unknown",
        unit: "",
        startTimestamp: null,
        ...(point.nanos && { nanos: point.nanos }),
      });
    }
    if (text.length > 0) events.push(eventOf(point, text, timestamp));
  }
  return { samples, events };
}

function eventOf(point: LinePoint, text: [string, string][], timestamp: number): LogEvent {
  const fields = Object.fromEntries(text);
  const { host = "", ...tags } = point.tags;
  return {
    timestamp,
    severity: severityOf(fields.severity ?? fields.level ?? tags.severity),
    message: fields.message ?? text.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" "),
    service: point.measurement,
    host,
    attributes: { ...tags, ...fields },
    traceId: null,
    spanId: null,
  };
}

function groupByHost<T>(
  items: T[],
  hostOf: (item: T) => string | undefined,
  max: number,
): [string, T[]][] {
  return [...groupBy(items, (item) => hostOf(item) || "unknown")].flatMap(([host, list]) =>
    Array.from(
      { length: Math.ceil(list.length / max) },
      (_, i) => [host, list.slice(i * max, (i + 1) * max)] as [string, T[]],
    ),
  );
}

/** Under Kafka's default 1 MiB record limit, with room for the batch around it. */
export const RECORD_BYTES = 900 * 1024;

/**
 * Encoded records of `list`, halved until each fits RECORD_BYTES: many large points (long label
 * values) never make a record Kafka refuses. One point alone over the limit is left as it is —
 * Kafka refuses it and the request gets 413.
 */
function fitting<T>(list: T[], encodeList: (items: T[]) => Buffer): Buffer[] {
  const value = encodeList(list);
  if (value.length <= RECORD_BYTES || list.length === 1) return [value];
  const half = Math.ceil(list.length / 2);
  return [...fitting(list.slice(0, half), encodeList), ...fitting(list.slice(half), encodeList)];
}

export function metricRecords(
  topic: string,
  samples: MetricSample[],
  max: number,
): OutboundRecord[] {
  return groupByHost(samples, (s) => s.labels.host, max).flatMap(([host, list]) =>
    fitting(list, (part) =>
      encode("metric-batch", { source: `http-ingest/${host}`, samples: part }),
    ).map((value) => ({ topic, key: host, value })),
  );
}

export function logRecords(topic: string, events: LogEvent[], max: number): OutboundRecord[] {
  return groupByHost(events, (e) => e.host, max).flatMap(([host, list]) =>
    fitting(list, (part) =>
      encode("log-batch", { source: `http-ingest/${host}`, events: part }),
    ).map((value) => ({ topic, key: host, value })),
  );
}

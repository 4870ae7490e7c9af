// OTLP/HTTP's protobuf messages, from the OpenTelemetry JS project's bindings generated (by
// protobufjs) from the official opentelemetry-proto definitions, and their OTLP/JSON twins.
import { createRequire } from "node:module";
import protobuf from "protobufjs/minimal.js";
import type { AnyValue, Int64, KeyValue } from "./values.js";

interface MessageType {
  decode(reader: Uint8Array): unknown;
  encode(message: object): { finish(): Uint8Array };
  fromObject(object: object): object;
}

const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js") as {
  opentelemetry: {
    proto: {
      collector: {
        metrics: { v1: Record<string, MessageType> };
        logs: { v1: Record<string, MessageType> };
      };
    };
  };
};
const collector = root.opentelemetry.proto.collector;

/** An OTLP/JSON-shaped metrics request as protobuf bytes, for clients (benchmarks) to send. */
export const encodeMetrics = (request: MetricsRequest): Uint8Array => {
  const type = collector.metrics.v1.ExportMetricsServiceRequest!;
  return type.encode(type.fromObject(request)).finish();
};

export interface Resource {
  attributes?: KeyValue[] | null;
}
export interface Scope {
  name?: string | null;
  version?: string | null;
}

interface PointBase {
  attributes?: KeyValue[] | null;
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  exemplars?: unknown[] | null;
  flags?: number | null;
}
export interface NumberDataPoint extends PointBase {
  asDouble?: number | string | null;
  asInt?: Int64;
}
export interface HistogramDataPoint extends PointBase {
  count?: Int64;
  sum?: number | string | null;
  bucketCounts?: Int64[] | null;
  explicitBounds?: (number | string)[] | null;
}
export interface Buckets {
  offset?: number | null;
  bucketCounts?: Int64[] | null;
}
export interface ExponentialHistogramDataPoint extends PointBase {
  count?: Int64;
  sum?: number | string | null;
  scale?: number | null;
  zeroCount?: Int64;
  zeroThreshold?: number | string | null;
  positive?: Buckets | null;
  negative?: Buckets | null;
}
export interface SummaryDataPoint extends PointBase {
  count?: Int64;
  sum?: number | string | null;
  quantileValues?: { quantile?: number | string | null; value?: number | string | null }[] | null;
}
/** AggregationTemporality: 1 delta, 2 cumulative (JSON may spell the enum's name). */
export type Temporality = number | string | null | undefined;

export interface Metric {
  name?: string | null;
  unit?: string | null;
  gauge?: { dataPoints?: NumberDataPoint[] | null } | null;
  sum?: {
    dataPoints?: NumberDataPoint[] | null;
    aggregationTemporality?: Temporality;
    isMonotonic?: boolean | null;
  } | null;
  histogram?: {
    dataPoints?: HistogramDataPoint[] | null;
    aggregationTemporality?: Temporality;
  } | null;
  exponentialHistogram?: {
    dataPoints?: ExponentialHistogramDataPoint[] | null;
    aggregationTemporality?: Temporality;
  } | null;
  summary?: { dataPoints?: SummaryDataPoint[] | null } | null;
}

export interface MetricsRequest {
  resourceMetrics?:
    | {
        resource?: Resource | null;
        scopeMetrics?: { scope?: Scope | null; metrics?: Metric[] | null }[] | null;
      }[]
    | null;
}

export interface LogRecord {
  timeUnixNano?: Int64;
  observedTimeUnixNano?: Int64;
  severityNumber?: number | string | null;
  severityText?: string | null;
  body?: AnyValue | null;
  attributes?: KeyValue[] | null;
  traceId?: Uint8Array | string | null;
  spanId?: Uint8Array | string | null;
  eventName?: string | null;
}

export interface LogsRequest {
  resourceLogs?:
    | {
        resource?: Resource | null;
        scopeLogs?: { scope?: Scope | null; logRecords?: LogRecord[] | null }[] | null;
      }[]
    | null;
}

export type Encoding = "protobuf" | "json";

/** The body's encoding from its Content-Type; undefined when OTLP/HTTP does not define it. */
export function encodingOf(contentType: string | undefined): Encoding | undefined {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/x-protobuf" || type === "application/protobuf") return "protobuf";
  if (type === "application/json") return "json";
  return undefined;
}

function decode<T>(type: MessageType, body: Buffer, encoding: Encoding): T {
  if (encoding === "protobuf") {
    try {
      return type.decode(body) as T;
    } catch (error) {
      throw new Error(`body: not an OTLP protobuf message (${(error as Error).message})`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new Error(`body: not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error("body: expected a JSON object");
  return parsed as T;
}

export const decodeMetrics = (body: Buffer, encoding: Encoding) =>
  decode<MetricsRequest>(collector.metrics.v1.ExportMetricsServiceRequest!, body, encoding);

export const decodeLogs = (body: Buffer, encoding: Encoding) =>
  decode<LogsRequest>(collector.logs.v1.ExportLogsServiceRequest!, body, encoding);

export interface Rejections {
  rejected: number;
  message: string;
}

/**
 * The Export*ServiceResponse: empty when all was accepted, else partial_success with the number
 * rejected and why (the spec's partial success).
 */
export function exportResponse(
  signal: "metrics" | "logs",
  rejections: Rejections,
  encoding: Encoding,
): Buffer {
  const count = signal === "metrics" ? "rejectedDataPoints" : "rejectedLogRecords";
  const message =
    rejections.rejected > 0
      ? { partialSuccess: { [count]: rejections.rejected, errorMessage: rejections.message } }
      : {};
  if (encoding === "json") return Buffer.from(JSON.stringify(message));
  const type =
    signal === "metrics"
      ? collector.metrics.v1.ExportMetricsServiceResponse!
      : collector.logs.v1.ExportLogsServiceResponse!;
  return Buffer.from(type.encode(message).finish());
}

/** A google.rpc.Status (code 3 INVALID_ARGUMENT and so on), OTLP's error body. */
export function statusBody(code: number, message: string, encoding: Encoding): Buffer {
  if (encoding === "json") return Buffer.from(JSON.stringify({ code, message }));
  const writer = protobuf.Writer.create();
  writer.uint32((1 << 3) | 0).int32(code);
  writer.uint32((2 << 3) | 2).string(message);
  return Buffer.from(writer.finish());
}

// Prometheus remote_write receiver: snappy-compressed protobuf, protocol 1.0
// (prometheus.WriteRequest) and 2.0 (io.prometheus.write.v2.Request, interned label symbols).
// Series become Vigil samples (typed from the request's metadata where it has any); staleness
// markers and native histograms are skipped and counted; a series that cannot be read is reported
// with its index, the rest written — as Prometheus's own receiver does.
import protobuf from "protobufjs";
import SnappyJS from "snappyjs";
import { metricNameOf, validLabels } from "../../schemas/names.js";
import type { MetricSample, MetricType } from "../../schemas/types.js";

const label = { fields: { name: { type: "string", id: 1 }, value: { type: "string", id: 2 } } };
const sample = {
  fields: { value: { type: "double", id: 1 }, timestamp: { type: "int64", id: 2 } },
};

/** The two protocols' messages, as their published .proto files define them (fields we read). */
const root = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          fields: {
            timeseries: { rule: "repeated", type: "TimeSeries", id: 1 },
            metadata: { rule: "repeated", type: "MetricMetadata", id: 3 },
          },
        },
        TimeSeries: {
          fields: {
            labels: { rule: "repeated", type: "Label", id: 1 },
            samples: { rule: "repeated", type: "Sample", id: 2 },
            exemplars: { rule: "repeated", type: "bytes", id: 3 },
            histograms: { rule: "repeated", type: "bytes", id: 4 },
          },
        },
        Label: label,
        Sample: sample,
        MetricMetadata: {
          fields: {
            type: { type: "int32", id: 1 },
            metricFamilyName: { type: "string", id: 2 },
            help: { type: "string", id: 4 },
            unit: { type: "string", id: 5 },
          },
        },
      },
    },
    v2: {
      nested: {
        Request: {
          fields: {
            symbols: { rule: "repeated", type: "string", id: 4 },
            timeseries: { rule: "repeated", type: "TimeSeries", id: 5 },
          },
        },
        TimeSeries: {
          fields: {
            labelsRefs: { rule: "repeated", type: "uint32", id: 1 },
            samples: { rule: "repeated", type: "Sample", id: 2 },
            histograms: { rule: "repeated", type: "bytes", id: 3 },
            exemplars: { rule: "repeated", type: "bytes", id: 4 },
            metadata: { type: "Metadata", id: 5 },
            createdTimestamp: { type: "int64", id: 6 },
          },
        },
        Sample: sample,
        Metadata: {
          fields: {
            type: { type: "int32", id: 1 },
            helpRef: { type: "uint32", id: 3 },
            unitRef: { type: "uint32", id: 4 },
          },
        },
      },
    },
  },
});
/** The messages, for clients (benchmarks, tests) to encode them too. */
export const WriteRequestV1 = root.lookupType("prometheus.WriteRequest");
export const RequestV2 = root.lookupType("v2.Request");

type Long = number | { toNumber(): number };
const num = (v: Long | null | undefined) => (v === null || v === undefined ? 0 : Number(v));

interface V1 {
  timeseries: {
    labels: { name: string; value: string }[];
    samples: { value: number; timestamp: Long }[];
    exemplars: unknown[];
    histograms: unknown[];
  }[];
  metadata: { type: number; metricFamilyName: string; unit: string }[];
}
interface V2 {
  symbols: string[];
  timeseries: {
    labelsRefs: number[];
    samples: { value: number; timestamp: Long }[];
    histograms: unknown[];
    exemplars: unknown[];
    metadata?: { type: number; unitRef: number } | null;
    createdTimestamp?: Long | null;
  }[];
}

export type Protocol = "1.0" | "2.0";

/** The protocol a request speaks, from its Content-Type (absent or bare protobuf: 1.0). */
export function protocolOf(contentType: string | undefined): Protocol | undefined {
  const [type = "", ...params] = (contentType ?? "application/x-protobuf").split(";");
  if (type.trim().toLowerCase() !== "application/x-protobuf") return undefined;
  const proto = params
    .map((p) => p.trim().split("="))
    .find(([k]) => k?.toLowerCase() === "proto")?.[1];
  if (!proto || proto === "prometheus.WriteRequest") return "1.0";
  if (proto === "io.prometheus.write.v2.Request") return "2.0";
  return undefined;
}

/** Snappy's block format states its decoded length first: checked before a byte is expanded. */
export function unsnappy(body: Buffer, limit: number): Buffer {
  let length = 0;
  let shift = 0;
  for (let i = 0; i < Math.min(body.length, 5); i++) {
    length += (body[i]! & 0x7f) * 2 ** shift;
    shift += 7;
    if ((body[i]! & 0x80) === 0) break;
  }
  if (length > limit)
    throw new Error(`body: decodes to ${length} bytes, over the limit of ${limit}`);
  try {
    return Buffer.from(SnappyJS.uncompress(body));
  } catch (error) {
    throw new Error(`body: not snappy-compressed (${(error as Error).message})`);
  }
}

/** Prometheus's staleness marker: a NaN with this exact bit pattern. */
const STALE_NAN_BITS = 0x7ff0000000000002n;
const view = new DataView(new ArrayBuffer(8));
function isStaleMarker(value: number): boolean {
  if (!Number.isNaN(value)) return false;
  view.setFloat64(0, value);
  return view.getBigUint64(0) === STALE_NAN_BITS;
}

const TYPES: Record<number, MetricType> = { 1: "counter", 2: "gauge" };

export interface RemoteWrite {
  samples: MetricSample[];
  /** Series that could not be read, each with its index and why. */
  errors: string[];
  staleMarkers: number;
  histograms: number;
  exemplars: number;
}

function typeOf(name: string, labels: Record<string, string>, family?: number): MetricType {
  if (family === 3 || family === 4)
    return name.endsWith("_bucket") ? "histogram_bucket" : "counter";
  if (family === 5) return "quantile" in labels ? "summary_quantile" : "counter";
  return TYPES[family ?? 0] ?? "unknown";
}

export function decodeRemoteWrite(body: Buffer, protocol: Protocol): RemoteWrite {
  const out: RemoteWrite = {
    samples: [],
    errors: [],
    staleMarkers: 0,
    histograms: 0,
    exemplars: 0,
  };
  let series: {
    labels: () => Record<string, string>;
    samples: { value: number; timestamp: Long }[];
    histograms: unknown[];
    exemplars: unknown[];
    type: (name: string) => number | undefined;
    unit: string;
    created: number;
  }[];
  try {
    if (protocol === "1.0") {
      const request = WriteRequestV1.toObject(WriteRequestV1.decode(body), {
        defaults: true,
        arrays: true,
      }) as V1;
      const families = new Map(request.metadata.map((m) => [m.metricFamilyName, m]));
      const family = (name: string) =>
        families.get(name) ?? families.get(name.replace(/_(bucket|sum|count|total|created)$/, ""));
      series = request.timeseries.map((ts) => ({
        labels: () => Object.fromEntries(ts.labels.map((l) => [l.name, l.value])),
        samples: ts.samples,
        histograms: ts.histograms,
        exemplars: ts.exemplars,
        type: (name) => family(name)?.type,
        unit: "",
        created: 0,
      }));
    } else {
      const request = RequestV2.toObject(RequestV2.decode(body), {
        defaults: true,
        arrays: true,
      }) as V2;
      const symbol = (ref: number) => {
        const text = request.symbols[ref];
        if (text === undefined) throw new Error(`symbol ${ref} is not in symbols`);
        return text;
      };
      series = request.timeseries.map((ts) => ({
        labels: () => {
          if (ts.labelsRefs.length % 2 !== 0) throw new Error("labels_refs: odd length");
          const labels: Record<string, string> = {};
          for (let i = 0; i < ts.labelsRefs.length; i += 2)
            labels[symbol(ts.labelsRefs[i]!)] = symbol(ts.labelsRefs[i + 1]!);
          return labels;
        },
        samples: ts.samples,
        histograms: ts.histograms,
        exemplars: ts.exemplars,
        type: () => ts.metadata?.type,
        unit: ts.metadata?.unitRef ? (request.symbols[ts.metadata.unitRef] ?? "") : "",
        created: num(ts.createdTimestamp),
      }));
    }
  } catch (error) {
    throw new Error(`body: not a remote_write ${protocol} request (${(error as Error).message})`);
  }
  series.forEach((ts, index) => {
    out.histograms += ts.histograms.length;
    out.exemplars += ts.exemplars.length;
    try {
      const { __name__: name, ...rest } = ts.labels();
      if (!name) throw new Error("labels: no __name__");
      const labels = validLabels(rest);
      const type = typeOf(name, labels, ts.type(name));
      for (const s of ts.samples) {
        if (isStaleMarker(s.value)) {
          out.staleMarkers += 1;
          continue;
        }
        out.samples.push({
          name: metricNameOf(name),
          value: s.value,
          timestamp: num(s.timestamp),
          labels,
          type,
          unit: ts.unit,
          startTimestamp: ts.created > 0 ? ts.created : null,
        });
      }
    } catch (error) {
      out.errors.push(`timeseries[${index}]: ${(error as Error).message}`);
    }
  });
  return out;
}

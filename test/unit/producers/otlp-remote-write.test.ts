import protobuf from "protobufjs";
import SnappyJS from "snappyjs";
import { describe, expect, it } from "vitest";
import { eventsOfOtlp, severityOfNumber } from "../../../services/http-ingest/otlp/logs.js";
import { samplesOfOtlp, unitWords } from "../../../services/http-ingest/otlp/metrics.js";
import type { Metric } from "../../../services/http-ingest/otlp/proto.js";
import {
  decodeRemoteWrite,
  protocolOf,
  unsnappy,
} from "../../../services/http-ingest/remote-write.js";

const NS = "1796000000000000000"; // 2026-11-30T... in ns
const MS = 1_796_000_000_000;
const settings = { promoteResourceAttributes: [], scopeLabels: false };
const one = (metric: Metric) =>
  samplesOfOtlp({ resourceMetrics: [{ scopeMetrics: [{ metrics: [metric] }] }] }, settings);
const brief = (metric: Metric) =>
  one(metric).samples.map((s) => [s.name, s.labels.le ?? s.labels.quantile ?? "", s.value, s.type]);

describe("OTLP metrics", () => {
  it("spells units in names as Prometheus does", () => {
    expect(unitWords("s")).toBe("seconds");
    expect(unitWords("By/s")).toBe("bytes_per_second");
    expect(unitWords("{token}")).toBe("");
    expect(unitWords("1")).toBe("ratio");
    expect(unitWords("Cel")).toBe("celsius");
  });

  it("adds _total to a monotonic cumulative sum and keeps its start as the series' start", () => {
    const [sample] = one({
      name: "gpu.xid.errors",
      sum: {
        isMonotonic: true,
        aggregationTemporality: 2,
        dataPoints: [{ timeUnixNano: NS, startTimeUnixNano: "1795000000000000000", asInt: "3" }],
      },
    }).samples;
    expect(sample).toMatchObject({
      name: "gpu_xid_errors_total",
      value: 3,
      type: "counter",
      timestamp: MS,
      startTimestamp: 1_795_000_000_000,
    });
  });

  it("writes a delta sum as a gauge of its interval's increase, never as a running total", () => {
    const [sample] = one({
      name: "requests",
      sum: {
        isMonotonic: true,
        aggregationTemporality: 1,
        dataPoints: [{ timeUnixNano: NS, asDouble: 5 }],
      },
    }).samples;
    expect(sample).toMatchObject({ name: "requests_total", value: 5, type: "gauge" });
  });

  it("expands an exponential histogram into cumulative classic buckets at its scale's bounds", () => {
    // scale 0: base 2, positive bucket i holds (2^i, 2^(i+1)]; offset 1 → (2,4], (4,8].
    expect(
      brief({
        name: "latency",
        exponentialHistogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              timeUnixNano: NS,
              count: "7",
              sum: 30,
              scale: 0,
              zeroCount: "1",
              positive: { offset: 1, bucketCounts: ["2", "3"] },
              negative: { offset: 0, bucketCounts: ["1"] },
            },
          ],
        },
      }),
    ).toEqual([
      ["latency_bucket", "-1", 1, "histogram_bucket"],
      ["latency_bucket", "0", 2, "histogram_bucket"],
      ["latency_bucket", "4", 4, "histogram_bucket"],
      ["latency_bucket", "8", 7, "histogram_bucket"],
      ["latency_bucket", "+Inf", 7, "histogram_bucket"],
      ["latency_sum", "", 30, "counter"],
      ["latency_count", "", 7, "counter"],
    ]);
  });

  it("writes a summary's quantiles, sum and count", () => {
    expect(
      brief({
        name: "rpc.duration",
        unit: "ms",
        summary: {
          dataPoints: [
            {
              timeUnixNano: NS,
              count: "10",
              sum: 55,
              quantileValues: [
                { quantile: 0.5, value: 4 },
                { quantile: 0.99, value: 9 },
              ],
            },
          ],
        },
      }),
    ).toEqual([
      ["rpc_duration_milliseconds", "0.5", 4, "summary_quantile"],
      ["rpc_duration_milliseconds", "0.99", 9, "summary_quantile"],
      ["rpc_duration_milliseconds_sum", "", 55, "counter"],
      ["rpc_duration_milliseconds_count", "", 10, "counter"],
    ]);
  });

  it("rejects a point it cannot read, naming it, and counts exemplars and points without a value", () => {
    const converted = one({
      name: "g",
      gauge: {
        dataPoints: [
          { timeUnixNano: NS, asDouble: 1, exemplars: [{}, {}] },
          { timeUnixNano: "0", asDouble: 2 },
          { timeUnixNano: NS, flags: 1 },
        ],
      },
    });
    expect(converted.samples.map((s) => s.value)).toEqual([1]);
    expect(converted.rejected).toBe(1);
    expect(converted.reasons).toEqual(['metric "g" dataPoints[1]: time_unix_nano: missing']);
    expect(converted.exemplars).toBe(2);
  });

  it("joins point attributes that clash once cleaned, and maps the resource to job, instance and host", () => {
    const { samples } = samplesOfOtlp(
      {
        resourceMetrics: [
          {
            resource: {
              attributes: [
                { key: "service.namespace", value: { stringValue: "ml" } },
                { key: "service.name", value: { stringValue: "trainer" } },
                { key: "service.instance.id", value: { stringValue: "r0" } },
                { key: "host.name", value: { stringValue: "n1" } },
                { key: "cloud.region", value: { stringValue: "eu" } },
              ],
            },
            scopeMetrics: [
              {
                scope: { name: "lib", version: "2" },
                metrics: [
                  {
                    name: "g",
                    gauge: {
                      dataPoints: [
                        {
                          timeUnixNano: NS,
                          asDouble: 1,
                          attributes: [
                            { key: "a.b", value: { intValue: "1" } },
                            { key: "a_b", value: { boolValue: true } },
                          ],
                        },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      },
      { promoteResourceAttributes: ["cloud.region"], scopeLabels: true },
    );
    expect(samples[0]!.labels).toEqual({
      cloud_region: "eu",
      job: "ml/trainer",
      instance: "r0",
      host: "n1",
      otel_scope_name: "lib",
      otel_scope_version: "2",
      a_b: "1;true",
    });
  });
});

describe("OTLP logs", () => {
  it("reads severity from its number, or from its text when the number is unset", () => {
    expect(severityOfNumber(17, "whatever")).toBe("error");
    expect(severityOfNumber(4, null)).toBe("trace");
    expect(severityOfNumber("SEVERITY_NUMBER_WARN2", null)).toBe("warn");
    expect(severityOfNumber(0, "FATAL")).toBe("fatal");
  });

  it("takes ids as hex from JSON, drops all-zero ids, and falls back to the observed time", () => {
    const { events } = eventsOfOtlp(
      {
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  {
                    observedTimeUnixNano: NS,
                    body: {
                      kvlistValue: {
                        values: [
                          { key: "k", value: { arrayValue: { values: [{ intValue: 1 }] } } },
                        ],
                      },
                    },
                    traceId: "5B8EFFF798038103D269B633813FC60C",
                    spanId: "0000000000000000",
                  },
                ],
              },
            ],
          },
        ],
      },
      0,
    );
    expect(events[0]).toMatchObject({
      timestamp: MS,
      message: '{"k":[1]}',
      traceId: "5b8efff798038103d269b633813fc60c",
      spanId: null,
    });
  });
});

const v2Root = protobuf.Root.fromJSON({
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
        metadata: { type: "Metadata", id: 5 },
      },
    },
    Sample: { fields: { value: { type: "double", id: 1 }, timestamp: { type: "int64", id: 2 } } },
    Metadata: { fields: { type: { type: "int32", id: 1 }, unitRef: { type: "uint32", id: 4 } } },
  },
});

describe("remote_write", () => {
  it("tells the protocol from the Content-Type", () => {
    expect(protocolOf("application/x-protobuf")).toBe("1.0");
    expect(protocolOf("application/x-protobuf;proto=prometheus.WriteRequest")).toBe("1.0");
    expect(protocolOf("application/x-protobuf; proto=io.prometheus.write.v2.Request")).toBe("2.0");
    expect(protocolOf("application/json")).toBeUndefined();
  });

  it("reads 2.0's interned symbols and metadata, and skips staleness markers", () => {
    const Request = v2Root.lookupType("Request");
    const stale = new DataView(new ArrayBuffer(8));
    stale.setBigUint64(0, 0x7ff0000000000002n);
    const body = Request.encode(
      Request.fromObject({
        symbols: ["", "__name__", "http_requests_total", "job", "api", "seconds"],
        timeseries: [
          {
            labelsRefs: [1, 2, 3, 4],
            samples: [
              { value: 7, timestamp: MS },
              { value: stale.getFloat64(0), timestamp: MS + 1000 },
            ],
            metadata: { type: 1, unitRef: 5 },
          },
          { labelsRefs: [1, 9], samples: [{ value: 1, timestamp: MS }] },
        ],
      }),
    ).finish();
    const written = decodeRemoteWrite(Buffer.from(body), "2.0");
    expect(written.samples).toEqual([
      {
        name: "http_requests_total",
        value: 7,
        timestamp: MS,
        labels: { job: "api" },
        type: "counter",
        unit: "seconds",
        startTimestamp: null,
      },
    ]);
    expect(written.staleMarkers).toBe(1);
    expect(written.errors).toEqual(["timeseries[1]: symbol 9 is not in symbols"]);
  });

  it("refuses a snappy body that says it expands past the limit before expanding it", () => {
    const body = Buffer.from(SnappyJS.compress(Buffer.alloc(100_000)));
    expect(() => unsnappy(body, 50_000)).toThrow(
      "decodes to 100000 bytes, over the limit of 50000",
    );
    expect(unsnappy(body, 200_000)).toHaveLength(100_000);
  });
});

import { describe, expect, it } from "vitest";
import type { MetricSample } from "../../../schemas/types.js";
import {
  LineProtocolError,
  parseBody,
  parseLine,
  utf8Body,
} from "../../../services/http-ingest/line-protocol.js";
import { parseLogLines } from "../../../services/http-ingest/logs.js";
import { samplesOf } from "../../../services/http-ingest/records.js";
import { toLine } from "../../../services/influxdb-sink/line-protocol.js";

describe("line protocol ingest", () => {
  it("reads measurements, tags, every field type and nanosecond timestamps", () => {
    expect(
      parseLine(
        'gpu,host=node-1,gpu=0 temp=71.5,util=97i,ok=true,mode="boost" 1764000000123456789',
        1,
      ),
    ).toEqual({
      measurement: "gpu",
      tags: { host: "node-1", gpu: "0" },
      fields: { temp: 71.5, util: 97, ok: true, mode: "boost" },
      timestamp: 1_764_000_000_123,
      nanos: 456_789,
    });
  });

  it("honours the precision of the request", () => {
    expect(parseLine("m v=1 1764000000", 1, "s").timestamp).toBe(1_764_000_000_000);
    expect(parseLine("m v=1 1764000000123", 1, "ms").timestamp).toBe(1_764_000_000_123);
    expect(parseLine("m v=1 1764000000123456", 1, "us").timestamp).toBe(1_764_000_000_123);
    expect(parseLine("m v=1", 1).timestamp).toBeUndefined();
  });

  it("unescapes what the InfluxDB sink escapes, so a point survives the round trip", () => {
    const sample: MetricSample = {
      name: "disk io, bytes",
      value: 12.5,
      timestamp: 1_764_000_000_000,
      labels: {
        "mount point": "/data,1",
        "a=b": "x=y z",
        path: String.raw`C:\temp\x`,
        quote: 'say "hi"',
        model: "H100 ünï",
      },
      type: "unknown",
      unit: "",
      startTimestamp: null,
    };
    const line = toLine(sample);
    if (!line.ok) throw new Error(line.reason);
    expect(parseBody(line.line, "ms")).toEqual([
      {
        measurement: sample.name,
        tags: sample.labels,
        fields: { value: sample.value },
        timestamp: sample.timestamp,
      },
    ]);
  });

  it("names field values by measurement and field, and keeps a point's string fields as a log event", () => {
    const { samples, events } = samplesOf(
      parseBody(
        'cpu,host=a usage_user=12.5,usage_idle=80,value=3\nsyslog,host=a,appname=kernel severity="err",message="NVRM: Xid 79\nline 2",uptime=3i',
        "ns",
      ),
      42,
    );
    expect(samples.map((s) => [s.name, s.value, s.timestamp])).toEqual([
      ["cpu_usage_user", 12.5, 42],
      ["cpu_usage_idle", 80, 42],
      ["cpu", 3, 42],
      ["syslog_uptime", 3, 42],
    ]);
    expect(events).toEqual([
      {
        timestamp: 42,
        severity: "error",
        message: "NVRM: Xid 79\nline 2",
        service: "syslog",
        host: "a",
        attributes: { appname: "kernel", severity: "err", message: "NVRM: Xid 79\nline 2" },
        traceId: null,
        spanId: null,
      },
    ]);
  });

  it("keeps the nanoseconds past the millisecond, so points 1 ns apart stay apart", () => {
    const [a, b, c] = parseBody(
      "m v=1 1764000000123000000\nm v=2 1764000000123000001\nm v=3 1764000000123456",
      "ns",
    );
    expect([a!.timestamp, a!.nanos]).toEqual([1_764_000_000_123, undefined]);
    expect([b!.timestamp, b!.nanos]).toEqual([1_764_000_000_123, 1]);
    expect(parseBody("m v=3 1764000000123456", "us")[0]).toMatchObject({
      timestamp: 1_764_000_000_123,
      nanos: 456_000,
    });
    expect(c!.timestamp).toBe(1_764_000_000); // that line is in ns: 1764000000123456 ns
    expect(samplesOf([b!], 0).samples[0]!.nanos).toBe(1);
    const line = toLine({ ...samplesOf([b!], 0).samples[0]!, name: "m" }, "ns");
    expect(line).toEqual({ ok: true, line: "m value=2 1764000000123000001" });
  });

  it("makes names InfluxDB accepts valid instead of refusing them", () => {
    const { samples } = samplesOf(parseBody("cpu-load,my-tag=x,ok=y 1m=0.5,value=2", "ns"), 1);
    expect(samples.map((s) => [s.name, s.labels])).toEqual([
      ["cpu_load_1m", { my_tag: "x", ok: "y" }],
      ["cpu_load", { my_tag: "x", ok: "y" }],
    ]);
  });

  it.each([
    ["cpu,host=a", "line 1: missing fields"],
    ["cpu,host=a usage=abc", 'line 1: invalid value "abc" for field "usage"'],
    ["cpu,host usage=1", 'line 1: invalid tag after "cpu": expected key=value'],
    ['cpu msg="unterminated', 'line 1: unterminated string in field "msg"'],
    ["cpu usage=1 yesterday", 'line 1: invalid timestamp "yesterday"'],
  ])("rejects %j, naming the line and the problem", (body, message) => {
    expect(() => parseBody(body)).toThrow(
      new LineProtocolError(1, message.slice(message.indexOf(": ") + 2)),
    );
  });

  it("counts lines from one, skipping blanks and comments", () => {
    expect(() => parseBody("# header\n\ncpu v=1\ncpu v=oops\n")).toThrow("line 4: ");
  });

  it("reads a raw newline inside a string field, as Telegraf writes it, and counts lines past it", () => {
    const points = parseBody('log,host=a msg="first\nsecond",v=1 1000000000\ncpu v=2');
    expect(points.map((p) => p.fields)).toEqual([{ msg: "first\nsecond", v: 1 }, { v: 2 }]);
    expect(() => parseBody('log msg="a\nb"\ncpu v=2\ncpu v=x')).toThrow("line 4: ");
  });

  it("takes repeated spaces between the sections and CRLF line ends", () => {
    expect(parseBody("cpu    value=1.0     1257894000000000000\r\ncpu v=2\r\n")).toEqual([
      { measurement: "cpu", tags: {}, fields: { value: 1 }, timestamp: 1257894000000 },
      { measurement: "cpu", tags: {}, fields: { v: 2 } },
    ]);
  });

  it("refuses integers and timestamps beyond 64 bits, negative unsigned integers, and repeated tags", () => {
    expect(parseLine("cpu v=-9223372036854775808i", 1).fields.v).toBe(Number(-(2n ** 63n)));
    expect(parseLine("cpu v=18446744073709551615u", 1).fields.v).toBe(Number(2n ** 64n - 1n));
    expect(() => parseLine("cpu v=9223372036854775808i", 1)).toThrow(
      'line 1: field "v": 9223372036854775808i is out of range for a 64-bit signed integer',
    );
    expect(() => parseLine("cpu v=18446744073709551616u", 1)).toThrow(
      "out of range for a 64-bit unsigned integer",
    );
    expect(() => parseLine("cpu v=-1u", 1)).toThrow('field "v": unsigned integer -1u is negative');
    expect(() => parseLine("cpu v=1 9223372036854775808", 1)).toThrow(
      "timestamp 9223372036854775808 is out of the 64-bit range",
    );
    expect(() => parseLine("cpu,b=2,c=3,b=1 v=1", 1)).toThrow('duplicate tag key "b"');
  });

  it("refuses control characters in names and bytes that are not UTF-8, naming the line", () => {
    expect(() => parseLine("x\u0001y v=1", 3)).toThrow(
      'line 3: measurement "x\\u0001y": control character',
    );
    expect(() => parseBody("\tm v=1")).toThrow("control character");
    expect(() =>
      utf8Body(
        Buffer.concat([Buffer.from("cpu v=1\nm bad"), Buffer.from([0xff]), Buffer.from("=1")]),
      ),
    ).toThrow("line 2: not valid UTF-8");
    expect(utf8Body(Buffer.from("m é=1"))).toBe("m é=1");
  });
});

describe("JSON-lines log ingest", () => {
  it("reads events, normalising severities and accepting ISO or epoch timestamps", () => {
    const body = [
      JSON.stringify({
        timestamp: "2026-11-25T10:00:00Z",
        level: "WARNING",
        message: "disk 91% full",
        host: "n1",
        attributes: { mount: "/", pct: 91 },
        trace_id: "abc",
      }),
      JSON.stringify({
        timestamp: 1_764_000_000_000,
        severity: "critical",
        message: "GPU fell off the bus",
      }),
      JSON.stringify({ message: "no time" }),
    ].join("\n");
    expect(parseLogLines(body, 7)).toEqual([
      {
        timestamp: Date.parse("2026-11-25T10:00:00Z"),
        severity: "warn",
        message: "disk 91% full",
        service: "",
        host: "n1",
        attributes: { mount: "/", pct: "91" },
        traceId: "abc",
        spanId: null,
      },
      {
        timestamp: 1_764_000_000_000,
        severity: "fatal",
        message: "GPU fell off the bus",
        service: "",
        host: "",
        attributes: {},
        traceId: null,
        spanId: null,
      },
      {
        timestamp: 7,
        severity: "unknown",
        message: "no time",
        service: "",
        host: "",
        attributes: {},
        traceId: null,
        spanId: null,
      },
    ]);
  });

  it("names the line and the field of a bad event", () => {
    expect(() => parseLogLines('{"message":"ok"}\n{"msg":"typo"}', 0)).toThrow(
      "line 2: message: expected a string",
    );
    expect(() => parseLogLines("not json", 0)).toThrow(/^line 1: not JSON/);
    expect(() => parseLogLines('{"message":"x","timestamp":"soon"}', 0)).toThrow(
      'line 1: timestamp: expected ISO 8601 or epoch milliseconds, got "soon"',
    );
  });
});

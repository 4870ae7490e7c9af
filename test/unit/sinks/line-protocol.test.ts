import { describe, expect, it } from "vitest";
import type { MetricSample } from "../../../schemas/types.js";
import { toLine } from "../../../services/influxdb-sink/line-protocol.js";
import { chunk, retryAfterMs } from "../../../services/influxdb-sink/writer.js";

const sample = (over: Partial<MetricSample>): MetricSample => ({
  name: "gpu_temperature_celsius",
  value: 71.5,
  timestamp: 1_764_000_000_123,
  labels: {},
  type: "gauge",
  unit: "celsius",
  startTimestamp: null,
  ...over,
});

describe("line protocol", () => {
  it("writes one point per sample, tags sorted, a float value and a millisecond timestamp", () => {
    expect(toLine(sample({ labels: { host: "node-1", gpu: "0" } }))).toEqual({
      ok: true,
      line: "gpu_temperature_celsius,gpu=0,host=node-1 value=71.5 1764000000123",
    });
  });

  it("escapes commas and spaces in measurements, and commas, equals signs and spaces in tags", () => {
    const result = toLine(
      sample({ name: "disk io, bytes", labels: { "mount point": "/data,1", "a=b": "x=y z" } }),
    );
    expect(result).toEqual({
      ok: true,
      line: String.raw`disk\ io\,\ bytes,a\=b=x\=y\ z,mount\ point=/data\,1 value=71.5 1764000000123`,
    });
  });

  it("leaves quotes, inner backslashes and unicode as they are", () => {
    const result = toLine(
      sample({ labels: { job: 'say "hi"', path: String.raw`C:\temp`, model: "H100 ünï 😀" } }),
    );
    expect(result).toEqual({
      ok: true,
      line: String.raw`gpu_temperature_celsius,job=say\ "hi",model=H100\ ünï\ 😀,path=C:\temp value=71.5 1764000000123`,
    });
  });

  it("omits empty labels, as Prometheus treats them as absent", () => {
    expect(toLine(sample({ labels: { host: "", gpu: "1" } }))).toMatchObject({
      line: "gpu_temperature_celsius,gpu=1 value=71.5 1764000000123",
    });
  });

  it("refuses what line protocol cannot carry, naming the label", () => {
    expect(toLine(sample({ labels: { msg: "two\nlines" } }))).toEqual({
      ok: false,
      droppable: false,
      reason: "labels.msg: line protocol cannot carry a newline",
    });
    expect(toLine(sample({ labels: { dir: "C:\\" } }))).toEqual({
      ok: false,
      droppable: false,
      reason: "labels.dir: line protocol cannot carry a trailing backslash",
    });
  });

  it("skips non-finite values as droppable rather than poison", () => {
    expect(toLine(sample({ value: Number.NaN }))).toMatchObject({ ok: false, droppable: true });
    expect(toLine(sample({ value: Number.POSITIVE_INFINITY }))).toMatchObject({
      ok: false,
      droppable: true,
    });
  });
});

describe("write requests", () => {
  it("are bounded by lines and by bytes", () => {
    const lines = ["a".repeat(9), "b".repeat(9), "c".repeat(9), "d".repeat(9), "e".repeat(9)];
    expect(chunk(lines, 2, 1000)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(chunk(lines, 100, 25)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(chunk(["x".repeat(100)], 10, 10)).toEqual([[0, 1]]); // one oversize line still goes alone
  });
});

describe("Retry-After from InfluxDB", () => {
  const now = Date.parse("2026-12-04T00:00:00Z");

  it("reads delta seconds as seconds, not milliseconds", () => {
    expect(retryAfterMs("30", now)).toBe(30_000);
  });

  it("reads an HTTP date as the time left until it", () => {
    expect(retryAfterMs("Fri, 04 Dec 2026 00:00:05 GMT", now)).toBe(5_000);
  });

  it("ignores a missing, past or unreadable value", () => {
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs("Thu, 03 Dec 2026 23:00:00 GMT", now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
  });
});

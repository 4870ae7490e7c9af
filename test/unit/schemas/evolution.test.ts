import avro from "avsc";
import { describe, expect, it } from "vitest";
import type { DecodeError } from "../../../schemas/codec.js";
import { decode, encode } from "../../../schemas/codec.js";
import {
  cannotRead,
  currentFingerprints,
  incompatibilities,
  readLock,
} from "../../../schemas/compatibility.js";
import { SCHEMA_VERSIONS, avroType, latest, versionsOf } from "../../../schemas/registry.js";
import type { MetricBatch } from "../../../schemas/types.js";

const v1 = versionsOf("metric-batch")[0]!;
const v2 = versionsOf("metric-batch")[1]!;

describe("schema evolution", () => {
  it("lets a new reader read data an old writer wrote, filling new fields with their defaults", () => {
    const old = {
      source: "host-agent/node-1",
      samples: [
        {
          name: "cpu_used_percent",
          value: 93.5,
          timestamp: 1_700_000_000_000,
          labels: { host: "node-1" },
          type: "gauge",
          unit: "percent",
        },
      ],
    };
    const bytes = encode("metric-batch", old as unknown as MetricBatch, v1);
    expect(decode("metric-batch", bytes, v2)).toEqual({
      ...old,
      samples: [{ ...old.samples[0], startTimestamp: null }],
    });
  });

  it("lets an old reader read data a new writer wrote, ignoring fields it does not know", () => {
    const sample = {
      name: "requests_total",
      value: 12,
      timestamp: 1_700_000_000_000,
      labels: {},
      type: "counter" as const,
      unit: "",
      startTimestamp: 1_699_000_000_000,
    };
    const bytes = encode("metric-batch", { source: "scrape/api", samples: [sample] }, v2);
    const { startTimestamp: _dropped, ...known } = sample;
    expect(decode("metric-batch", bytes, v1)).toEqual({ source: "scrape/api", samples: [known] });
  });

  it("finds every registered version of a subject mutually readable", () => {
    expect(
      incompatibilities().map((i) => `${i.reader.file} cannot read ${i.writer.file}: ${i.reason}`),
    ).toEqual([]);
  });

  it("reports a new version that adds a field without a default as incompatible", () => {
    const schema = JSON.parse(JSON.stringify(avroType(latest("alert")).schema())) as {
      fields: object[];
    };
    schema.fields.push({ name: "team", type: "string" });
    const broken = avro.Type.forSchema(schema as avro.Schema);
    expect(cannotRead(broken, avroType(latest("alert")))).toMatch(/team/);
  });

  it("keeps every published schema version exactly as it was published", () => {
    expect(currentFingerprints()).toEqual(readLock());
  });

  it("gives every schema version its own wire id", () => {
    const ids = SCHEMA_VERSIONS.map((v) => v.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("record framing", () => {
  it("gives back, field for field, records far larger than the encoder's first buffer, and small ones after them", () => {
    const samples = (n: number): MetricBatch["samples"] =>
      Array.from({ length: n }, (_, i) => ({
        name: `gpu_metric_${i % 17}`,
        value: i / 7,
        timestamp: 1_700_000_000_000 + i,
        labels: { host: `node-${i}`, gpu: String(i % 8), note: "é ✓".repeat(i % 5) },
        type: "gauge",
        unit: "",
        startTimestamp: null,
      }));
    for (const n of [1, 20_000, 3, 70_000, 0]) {
      const batch = { source: `s${n}`, samples: samples(n) };
      const bytes = encode("metric-batch", batch);
      expect(bytes.length).toBeGreaterThan(n * 20);
      expect(decode("metric-batch", bytes)).toEqual(batch);
    }
  });

  it("says which schema version wrote each record, in the first five bytes", () => {
    const bytes = encode("metric-batch", { source: "s", samples: [] });
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, 0, latest("metric-batch").id]);
  });

  it("rejects bytes without the framing, an unknown schema id and another subject's record, by code", () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as DecodeError).code;
      }
      return "decoded";
    };
    expect(codeOf(() => decode("metric-batch", Buffer.from('{"json":true}')))).toBe(
      "VGL_DECODE_MAGIC",
    );
    expect(codeOf(() => decode("metric-batch", Buffer.from([0, 0, 0, 0x7f, 0x7f, 1])))).toBe(
      "VGL_DECODE_UNKNOWN_SCHEMA",
    );
    expect(codeOf(() => decode("metric-batch", null))).toBe("VGL_DECODE_EMPTY");
    const alert = encode("dead-letter", {
      originalTopic: "t",
      partition: 0,
      offset: 1,
      key: null,
      value: null,
      headers: {},
      failedStage: "decode",
      errorCode: "X",
      errorMessage: "m",
      time: 0,
    });
    expect(codeOf(() => decode("metric-batch", alert))).toBe("VGL_DECODE_WRONG_SUBJECT");
    const truncated = encode("metric-batch", { source: "node", samples: [] }).subarray(0, 6);
    expect(codeOf(() => decode("metric-batch", truncated))).toBe("VGL_DECODE_BODY");
  });

  it("refuses to encode a value that does not fit the schema, naming the field", () => {
    const bad = {
      source: "s",
      samples: [
        {
          name: "x",
          value: "high",
          timestamp: 0,
          labels: {},
          type: "gauge",
          unit: "",
          startTimestamp: null,
        },
      ],
    };
    expect(() => encode("metric-batch", bad as unknown as MetricBatch)).toThrow(
      /samples\.0\.value: got "high"/,
    );
  });
});

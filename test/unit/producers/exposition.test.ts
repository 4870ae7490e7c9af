import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ExpositionError,
  parseExposition,
} from "../../../services/prometheus-scrape/exposition.js";

const fixture = (name: string) => readFileSync(`test/fixtures/exposition/${name}`, "utf8");
const find = (
  samples: ReturnType<typeof parseExposition>,
  name: string,
  labels: Record<string, string> = {},
) =>
  samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );

describe("Prometheus text format", () => {
  const samples = parseExposition(fixture("node-exporter.txt"));

  it("reads every sample of a node_exporter-style page with its family's type", () => {
    expect(samples).toHaveLength(20);
    expect(find(samples, "node_cpu_seconds_total", { mode: "idle" })).toEqual([
      {
        name: "node_cpu_seconds_total",
        labels: { cpu: "0", mode: "idle" },
        value: 2.00563226e6,
        type: "counter",
        unit: "",
      },
    ]);
    expect(find(samples, "node_filesystem_avail_bytes", { mountpoint: "/" })[0]).toMatchObject({
      value: 3.7517754368e10,
      type: "gauge",
    });
  });

  it("types histogram buckets and summary quantiles, and their sums and counts as counters", () => {
    expect(
      find(samples, "http_request_duration_seconds_bucket").map((s) => [
        s.labels.le,
        s.value,
        s.type,
      ]),
    ).toEqual([
      ["0.1", 71, "histogram_bucket"],
      ["0.5", 74, "histogram_bucket"],
      ["+Inf", 75, "histogram_bucket"],
    ]);
    expect(find(samples, "http_request_duration_seconds_count")[0]?.type).toBe("counter");
    expect(find(samples, "go_gc_duration_seconds", { quantile: "0.5" })[0]).toMatchObject({
      value: 4.5441e-5,
      type: "summary_quantile",
    });
    expect(find(samples, "go_gc_duration_seconds_sum")[0]?.type).toBe("counter");
  });

  it("reads NaN, -Inf, explicit millisecond timestamps and escaped label values", () => {
    expect(find(samples, "node_hwmon_temp_celsius", { sensor: "temp2" })[0]?.value).toBeNaN();
    expect(find(samples, "node_textfile_mtime_seconds")[0]).toMatchObject({
      value: 1.764e9,
      timestamp: 1_764_000_000_123,
      type: "unknown",
    });
    expect(find(samples, "node_weird_label")[0]).toMatchObject({
      value: Number.NEGATIVE_INFINITY,
      labels: { path: "C:\\temp\\x", quote: 'say "hi"', nl: "a\nb" },
    });
    expect(find(samples, "node_network_info")[0]?.labels.ifalias).toBe("");
  });

  it('reads NaN and Inf in any case, as Prometheus does — prom-client prints "Nan"', () => {
    const text = "a Nan\nb +inf\nc -INF\n";
    expect(parseExposition(text).map((s) => s.value)).toEqual([NaN, Infinity, -Infinity]);
    expect(() => parseExposition("d nope\n")).toThrow('line 1: "nope" is not a number');
  });
});

describe("OpenMetrics", () => {
  const samples = parseExposition(fixture("openmetrics.txt"), "openmetrics");

  it("reads units, second timestamps and _created series as the series' start", () => {
    expect(find(samples, "process_cpu_seconds_total")[0]).toEqual({
      name: "process_cpu_seconds_total",
      labels: {},
      value: 4.20072246e6,
      timestamp: 1_764_000_001_500,
      type: "counter",
      unit: "seconds",
      created: 1_700_000_000_250,
    });
    expect(find(samples, "acme_http_router_request_seconds_count")[0]).toMatchObject({
      created: 1_605_281_325_000,
      unit: "seconds",
      type: "counter",
    });
    expect(samples.some((s) => s.name.endsWith("_created"))).toBe(false);
  });

  it("skips exemplars and stops at # EOF", () => {
    expect(find(samples, "training_step_duration_seconds_bucket", { le: "0.5" })[0]).toMatchObject({
      value: 10,
      type: "histogram_bucket",
    });
    expect(() => parseExposition("go_goroutines 69\n", "openmetrics")).toThrow(
      "does not end with # EOF",
    );
    expect(() => parseExposition("# EOF\ngo_goroutines 69\n", "openmetrics")).toThrow(
      "line 2: content after # EOF",
    );
    expect(() => parseExposition("# EOF\n\n", "openmetrics")).toThrow("content after # EOF");
  });

  it("refuses a malformed exemplar", () => {
    expect(() => parseExposition("c_total 1 # {aa=bb}\n# EOF\n", "openmetrics")).toThrow(
      'expected ="…" after label aa',
    );
    expect(() => parseExposition('c_total 1 # {aa="bb"}\n# EOF\n', "openmetrics")).toThrow(
      "exemplar: expected one space, a value and maybe a timestamp after its labels",
    );
  });
});

describe("OpenMetrics' checks", () => {
  const om = (page: string) => () => parseExposition(`${page}\n# EOF\n`, "openmetrics");

  it.each([
    ["# HELP a x\n# HELP a x", "# HELP a given twice"],
    ["# TYPE a gauge\na 1\n# HELP a late", "metadata must come before its samples"],
    ["# TYPE a gauge \na 1", '"gauge " is not an OpenMetrics type'],
    ["# HELP a", "expected a space and its value"],
    ["# TYPE a untyped", '"untyped" is not an OpenMetrics type'],
    ["# UNIT a seconds", "the name must end in _seconds"],
    ["# TYPE a_created gauge\n# TYPE a counter", "a_created clashes with family a_created"],
    ["# comment", 'expected "# HELP name text"'],
    ["a 1\n\na 2", "blank lines are not allowed"],
    ["# TYPE a gauge\na 0 1\na 0 0", "timestamps must not go back"],
    ['# TYPE a gauge\na 1 # {t="1"} 1', "exemplars are for counters' _total"],
    ['# TYPE a stateset\na{a="x"} 2', "a state is 0 or 1"],
    ["# TYPE a info\na_info 2", "an info sample's value is 1"],
    ['# TYPE a histogram\na_bucket{le="+Inf"} 0\na_sum 0', "_sum and _count go together"],
    [
      '# TYPE a histogram\na_bucket{a="1",le="+Inf"} 0\na_bucket{a="2",le="+Inf"} 0\na_count{a="1"} 0',
      "samples must be together",
    ],
    ["a 0x1", '"0x1" is not a number'],
  ])("refuse %j (%s)", (page, error) => {
    expect(om(page)).toThrow(error);
  });

  it("read what Prometheus and client_golang write though OpenMetrics forbids it", () => {
    // A summary with negative observations, a histogram with negative buckets and a _sum.
    const page = [
      "# TYPE s summary",
      's{quantile="0.5"} -1',
      "s_sum -3",
      "s_count 2",
      "# TYPE h histogram",
      'h_bucket{le="-1"} 1',
      'h_bucket{le="+Inf"} 2',
      "h_sum -0.5",
      "h_count 2",
    ].join("\n");
    expect(om(page)()).toHaveLength(7);
  });

  it("refuse counts that are negative or NaN, and a quantile outside [0, 1]", () => {
    expect(om("# TYPE a counter\na_total -1")).toThrow("a_total: a count must be a number ≥ 0");
    expect(om("# TYPE a counter\na_total NaN")).toThrow("a count must be a number");
    expect(om('# TYPE a summary\na{quantile="1.01"} 0')).toThrow(
      "quantile must be a float within [0, 1]",
    );
    expect(om('# TYPE a histogram\na_bucket{le="+INF"} 0')).toThrow(
      'le must be a float or +Inf, got "+INF"',
    );
  });

  it("refuse a histogram without +Inf, with falling buckets, or a _count that differs from +Inf", () => {
    expect(om('# TYPE a histogram\na_bucket{le="1"} 0')).toThrow(
      "a histogram needs its +Inf bucket",
    );
    expect(om('# TYPE a histogram\na_bucket{le="1"} 2\na_bucket{le="+Inf"} 1')).toThrow(
      "bucket counts must not decrease",
    );
    expect(om('# TYPE a histogram\na_bucket{le="+Inf"} 0\na_count 1')).toThrow(
      "_count 1 differs from the +Inf bucket 0",
    );
    expect(
      om('# TYPE a histogram\na_bucket{le="0.5"} 1\na_bucket{le="+Inf"} 2\na_count 2')(),
    ).toHaveLength(3);
  });

  it("refuse two spaces before a value or one after it", () => {
    expect(om("a  1")).toThrow("expected one space before the value");
    expect(om("a 1 ")).toThrow("expected one space before the value");
    expect(om("a 1")()).toHaveLength(1);
  });
});

describe("Prometheus 3 syntax", () => {
  it("reads UTF-8 metric and label names quoted inside the braces, and their metadata", () => {
    const samples = parseExposition(
      [
        '# TYPE "go.gc_duration_seconds" summary',
        '{"go.gc_duration_seconds",quantile="0.5", "http.status"="200"} 8.3e-05',
        '{quantile="0.9","go.gc_duration_seconds"} 9e-05',
        "",
      ].join("\n"),
    );
    expect(samples.map((s) => [s.name, s.labels, s.value, s.type])).toEqual([
      [
        "go.gc_duration_seconds",
        { quantile: "0.5", "http.status": "200" },
        8.3e-5,
        "summary_quantile",
      ],
      ["go.gc_duration_seconds", { quantile: "0.9" }, 9e-5, "summary_quantile"],
    ]);
  });

  it("takes spaces around braces, = and commas, and a missing comma in the text format", () => {
    const [sample] = parseExposition('gc_seconds { quantile = "2.0" a = "b" } 8.3835e-05\n');
    expect(sample).toMatchObject({ name: "gc_seconds", labels: { quantile: "2.0", a: "b" } });
    expect(() => parseExposition('m{a="1" b="2"} 1\n# EOF\n', "openmetrics")).toThrow(
      "expected , or } after label a",
    );
  });

  it("refuses metadata that names no metric", () => {
    expect(() => parseExposition("# HELP #\n")).toThrow(
      'expected a metric name after HELP, got "#"',
    );
  });
});

describe("malformed pages", () => {
  it.each([
    ['cpu{mode="idle} 1', "line 1: unterminated value of label mode"],
    ["cpu{mode=idle} 1", 'line 1: expected ="…" after label mode'],
    ["cpu twelve", 'line 1: "twelve" is not a number'],
    ["# TYPE cpu sometimes\ncpu 1", 'line 1: unknown metric type "sometimes" for cpu'],
    ["ok 1\n{} 2", 'line 2: expected a metric name, got "{} 2"'],
    ['cpu{a="1",a="2"} 1', "line 1: label a given twice"],
  ])("names the line and the problem in %j", (page, message) => {
    expect(() => parseExposition(page)).toThrow(
      new ExpositionError(Number(message.slice(5, 6)), message.slice(message.indexOf(": ") + 2)),
    );
  });
});

// The Grafana dashboards' queries against what the InfluxDB sink really writes: samples from the
// real host collector on this machine, the GPU agent on recorded nvidia-smi output, and Vigil's own
// /metrics parsed by the scrape producer's parser, all turned into line protocol by the sink's
// own toLine — every measurement, field and tag a query names must be among those.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DASHBOARDS, dashboard } from "../../../deploy/grafana/build.js";
import type { MetricSample } from "../../../schemas/types.js";
import { createMetrics } from "../../../services/chassis/metrics.js";
import { BASE_QUERY, parseQueryCsv } from "../../../services/gpu-agent/nvidia-smi.js";
import { gpuSamples } from "../../../services/gpu-agent/samples.js";
import { createCollector } from "../../../services/host-agent/collector.js";
import { toLine } from "../../../services/influxdb-sink/line-protocol.js";
import { parseExposition } from "../../../services/prometheus-scrape/exposition.js";

/** measurement → field keys and tag keys, as the sink writes them. */
async function written(): Promise<Map<string, { fields: Set<string>; tags: Set<string> }>> {
  const samples: MetricSample[] = [];
  let clock = Date.now();
  const collect = createCollector({ host: "node-1", now: () => clock });
  collect();
  await new Promise((done) => setTimeout(done, 300)); // CPU use is a difference of two readings
  clock += 300;
  samples.push(...collect());
  const csv = readFileSync("test/fixtures/nvidia-smi/h100-x2.csv", "utf8");
  samples.push(...gpuSamples(parseQueryCsv(csv, BASE_QUERY), [], { host: "gpu-node-1" }, clock));
  // Vigil's own metrics: every family with every label set, as a scrape sees them.
  const metrics = createMetrics("dashboard-test");
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const m = metric as unknown as {
      labelNames?: string[];
      inc?: (l: object, v?: number) => void;
      set?: (l: object, v: number) => void;
      observe?: (l: object, v: number) => void;
    };
    const labels = Object.fromEntries((m.labelNames ?? []).map((l) => [l, "x"]));
    if (m.observe) m.observe(labels, 1);
    else if (m.set) m.set(labels, 1);
    else m.inc?.(labels, 1);
  }
  for (const s of parseExposition(await metrics.registry.metrics()))
    samples.push({
      ...s,
      labels: { ...s.labels, job: "vigil", instance: "127.0.0.1:9470" },
      timestamp: clock,
      startTimestamp: null,
    });
  samples.push({
    name: "up",
    value: 1,
    timestamp: clock,
    labels: { job: "vigil", instance: "127.0.0.1:9470" },
    type: "gauge",
    unit: "",
    startTimestamp: null,
  });

  const out = new Map<string, { fields: Set<string>; tags: Set<string> }>();
  for (const sample of samples) {
    const line = toLine(sample);
    if (!line.ok) continue;
    // measurement,tag=v,... field=v time — spaces and commas in names and values are escaped.
    const [head, fieldSet] = line.line.split(/(?<!\\) /) as [string, string];
    const [measurement, ...tags] = head.split(/(?<!\\),/);
    const entry = out.get(measurement!) ?? { fields: new Set(), tags: new Set() };
    for (const t of tags) entry.tags.add(t.split(/(?<!\\)=/)[0]!);
    for (const f of fieldSet.split(",")) entry.fields.add(f.split("=")[0]!);
    out.set(measurement!, entry);
  }
  return out;
}

describe("the Grafana dashboards", () => {
  it("are what deploy/grafana/build.ts generates", () => {
    for (const [uid, spec] of Object.entries(DASHBOARDS))
      expect(JSON.parse(readFileSync(`deploy/grafana/dashboards/${uid}.json`, "utf8"))).toEqual(
        dashboard(uid, spec),
      );
  });

  it("query only measurements, fields and tags the InfluxDB sink writes", async () => {
    const sink = await written();
    const problems: string[] = [];
    let queries = 0;
    for (const uid of Object.keys(DASHBOARDS)) {
      const json = JSON.parse(readFileSync(`deploy/grafana/dashboards/${uid}.json`, "utf8")) as {
        panels: { title: string; targets: { query: string }[] }[];
      };
      for (const panel of json.panels)
        for (const { query } of panel.targets) {
          queries++;
          const measurement = /FROM "([^"]+)"/.exec(query)?.[1] ?? "";
          const found = sink.get(measurement);
          if (!found) {
            problems.push(
              `${uid} / ${panel.title}: the sink writes no measurement "${measurement}"`,
            );
            continue;
          }
          for (const [, field] of query.matchAll(/\("([^"]+)"\)/g))
            if (!found.fields.has(field!))
              problems.push(`${uid} / ${panel.title}: no field "${field}" in ${measurement}`);
          const tags = [...query.matchAll(/(?:AND|,) "([^"]+)"/g)].map((m) => m[1]!);
          for (const tag of tags)
            if (!found.tags.has(tag))
              problems.push(`${uid} / ${panel.title}: no tag "${tag}" on ${measurement}`);
        }
    }
    expect(problems).toEqual([]);
    expect(queries).toBe(Object.values(DASHBOARDS).reduce((n, d) => n + d.panels.length, 0));
  });
});

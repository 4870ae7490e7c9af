// Writes Vigil's Grafana dashboards (deploy/grafana/dashboards/*.json) from the compact
// description below: `npx tsx deploy/grafana/build.ts`. Every panel is an InfluxQL query on a
// measurement the InfluxDB sink writes (metric name = measurement, field `value`, labels = tags);
// test/unit/deploy/dashboards.test.ts checks each against what the sink really writes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface PanelSpec {
  title: string;
  measurement: string;
  /** How the series is read: as is, or as a per-second rate of a counter. */
  read: "mean" | "rate" | "max";
  by: string[];
  where?: Record<string, string>;
  unit?: string;
}

export const DASHBOARDS: Record<string, { title: string; panels: PanelSpec[] }> = {
  "pipeline-health": {
    title: "Vigil — pipeline health",
    panels: [
      {
        title: "Records in per second",
        measurement: "vigil_records_in_total",
        read: "rate",
        by: ["instance", "topic"],
        unit: "ops",
      },
      {
        title: "Records out per second",
        measurement: "vigil_records_out_total",
        read: "rate",
        by: ["instance", "topic"],
        unit: "ops",
      },
      {
        title: "Consumer lag (records)",
        measurement: "vigil_consumer_lag_records",
        read: "max",
        by: ["instance", "topic"],
      },
      {
        title: "Dead letters per second",
        measurement: "vigil_dead_letters_total",
        read: "rate",
        by: ["instance", "code"],
        unit: "ops",
      },
      {
        title: "Dropped per second",
        measurement: "vigil_records_dropped_total",
        read: "rate",
        by: ["instance", "reason"],
        unit: "ops",
      },
      {
        title: "Points and documents written per second",
        measurement: "vigil_sink_written_total",
        read: "rate",
        by: ["store"],
        unit: "ops",
      },
      {
        title: "Commits",
        measurement: "vigil_commits_total",
        read: "rate",
        by: ["instance", "result"],
        unit: "ops",
      },
      { title: "Scrape targets up", measurement: "up", read: "max", by: ["job", "instance"] },
    ],
  },
  hosts: {
    title: "Vigil — hosts",
    panels: [
      {
        title: "CPU used",
        measurement: "cpu_used_percent",
        read: "mean",
        by: ["host"],
        where: { cpu: "total" },
        unit: "percent",
      },
      {
        title: "Memory used",
        measurement: "memory_used_percent",
        read: "mean",
        by: ["host"],
        unit: "percent",
      },
      { title: "Load (1 m)", measurement: "load_average_1m", read: "mean", by: ["host"] },
      {
        title: "File systems used",
        measurement: "filesystem_used_percent",
        read: "max",
        by: ["host", "mountpoint"],
        unit: "percent",
      },
      {
        title: "Disk written",
        measurement: "disk_written_bytes_per_second",
        read: "mean",
        by: ["host", "device"],
        unit: "Bps",
      },
      {
        title: "Network received",
        measurement: "network_receive_bytes_per_second",
        read: "mean",
        by: ["host", "interface"],
        unit: "Bps",
      },
    ],
  },
  gpus: {
    title: "Vigil — GPUs",
    panels: [
      {
        title: "Temperature",
        measurement: "gpu_temperature_celsius",
        read: "max",
        by: ["host", "gpu"],
        unit: "celsius",
      },
      {
        title: "Utilisation",
        measurement: "gpu_utilization_percent",
        read: "mean",
        by: ["host", "gpu"],
        unit: "percent",
      },
      {
        title: "Memory used",
        measurement: "gpu_memory_used_percent",
        read: "max",
        by: ["host", "gpu"],
        unit: "percent",
      },
      {
        title: "Power draw",
        measurement: "gpu_power_draw_watts",
        read: "mean",
        by: ["host", "gpu"],
        unit: "watt",
      },
      { title: "Throttled", measurement: "gpu_throttled", read: "max", by: ["host", "gpu"] },
      {
        title: "Uncorrectable ECC errors",
        measurement: "gpu_ecc_errors_uncorrected_total",
        read: "max",
        by: ["host", "gpu"],
      },
    ],
  },
  alerts: {
    title: "Vigil — alerts",
    panels: [
      {
        title: "Alert events per second",
        measurement: "vigil_alert_events_total",
        read: "rate",
        by: ["rule", "status"],
        unit: "ops",
      },
      {
        title: "Notifications per second",
        measurement: "vigil_notifications_total",
        read: "rate",
        by: ["receiver", "result"],
        unit: "ops",
      },
      {
        title: "Rule × series tracks",
        measurement: "vigil_detector_tracks",
        read: "max",
        by: ["instance", "partition"],
      },
    ],
  },
};

export function query(p: PanelSpec): string {
  const select =
    p.read === "rate" ? `non_negative_derivative(max("value"), 1s)` : `${p.read}("value")`;
  const where = Object.entries(p.where ?? {})
    .map(([k, v]) => ` AND "${k}" = '${v}'`)
    .join("");
  const by = p.by.map((t) => `, "${t}"`).join("");
  return `SELECT ${select} FROM "${p.measurement}" WHERE $timeFilter${where} GROUP BY time($__interval)${by} fill(null)`;
}

export function dashboard(uid: string, spec: { title: string; panels: PanelSpec[] }): object {
  return {
    uid: `vigil-${uid}`,
    title: spec.title,
    tags: ["vigil"],
    timezone: "browser",
    schemaVersion: 39,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    panels: spec.panels.map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      datasource: { type: "influxdb", uid: "vigil-influxdb" },
      fieldConfig: { defaults: { unit: p.unit ?? "short" }, overrides: [] },
      targets: [
        {
          refId: "A",
          rawQuery: true,
          resultFormat: "time_series",
          query: query(p),
          alias: `$tag_${p.by[p.by.length - 1]}`,
        },
      ],
    })),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  for (const [uid, spec] of Object.entries(DASHBOARDS)) {
    const file = join(import.meta.dirname, "dashboards", `${uid}.json`);
    writeFileSync(file, `${JSON.stringify(dashboard(uid, spec), null, 2)}\n`);
    console.log(`wrote ${file}`);
  }
}

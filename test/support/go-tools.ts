// Real clients built from their Go modules at a tagged version (`go install`, through the Go
// module proxy; release binaries cannot be downloaded here): amtool, Prometheus. Built once into
// the stack's cache (shared by every clone on this machine), then reused.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadStackConfig } from "../../deploy/local/config.js";
import { runStep } from "../../deploy/local/progress.js";

export interface GoTool {
  /** The binary's name, also the last element of the package path. */
  name: string;
  /** The package to install, e.g. github.com/prometheus/alertmanager/cmd/amtool. */
  pkg: string;
  version: string;
  /** Build tags, e.g. Telegraf's custom build of just the plugins a test needs. */
  tags?: string[];
}

export const AMTOOL: GoTool = {
  name: "amtool",
  pkg: "github.com/prometheus/alertmanager/cmd/amtool",
  version: "v0.28.1",
};

/** The path of the tool's binary, built first when this machine does not have it yet. */
export async function goTool(tool: GoTool): Promise<string> {
  const variant = tool.tags ? `-${tool.tags.length}-plugins` : "";
  const bin = join(loadStackConfig().cacheDir, "tools", `${tool.name}-${tool.version}${variant}`);
  const path = join(bin, tool.name);
  if (existsSync(path)) return path;
  await runStep({
    label: `${tool.name}: building ${tool.pkg}@${tool.version} with go install (once)`,
    command: "go",
    args: [
      "install",
      ...(tool.tags ? ["-tags", tool.tags.join(",")] : []),
      `${tool.pkg}@${tool.version}`,
    ],
    env: { GOBIN: bin, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" },
    progressLine: /^go: downloading/,
  });
  return path;
}

/** Prometheus 3 (its Go module is versioned v0.3xx.y): minutes to build, so only in test:faults. */
export const PROMETHEUS: GoTool = {
  name: "prometheus",
  pkg: "github.com/prometheus/prometheus/cmd/prometheus",
  version: "v0.316.0",
};

/**
 * Telegraf, a custom build (its documented `custom` tag) with the plugins the test uses: the full
 * agent's hundreds of plugins take far longer to build, and nothing here needs them.
 */
export const TELEGRAF: GoTool = {
  name: "telegraf",
  pkg: "github.com/influxdata/telegraf/cmd/telegraf",
  version: "v1.37.2",
  tags: ["custom", "inputs.file", "parsers.influx", "outputs.influxdb", "outputs.influxdb_v2"],
};

/**
 * Telegraf for the side-by-side bench (`npm run bench -- --peer telegraf`): a Kafka consumer,
 * basicstats and quantile aggregators, and the InfluxDB output — the peer's own aggregation job.
 */
export const TELEGRAF_PEER: GoTool = {
  name: "telegraf",
  pkg: "github.com/influxdata/telegraf/cmd/telegraf",
  version: "v1.37.2",
  tags: [
    "custom",
    "inputs.kafka_consumer",
    "aggregators.basicstats",
    "aggregators.quantile",
    "outputs.influxdb",
    "parsers.influx",
    "serializers.influx",
  ],
};

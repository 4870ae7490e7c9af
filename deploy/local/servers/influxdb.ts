// InfluxDB 1.8, built from source with `go install` (the Go module proxy is reachable; release
// binaries are not). 1.8 serves the v2 write API and Flux queries that
// @influxdata/influxdb-client speaks, with the bucket written as "database/retention-policy".
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOST, type StackConfig } from "../config.js";
import { launch } from "../process.js";
import { runStep } from "../progress.js";
import { httpOk, serverFiles, type LocalServer } from "../server.js";

export const INFLUXDB_VERSION = "1.8.10";

export function influxdbServer(config: StackConfig): LocalServer {
  const { port, rpcPort, database } = config.influxdb;
  const files = serverFiles(config.stateDir, "influxdb");
  const bin = join(config.cacheDir, `influxdb-${INFLUXDB_VERSION}`, "bin");
  const influxd = join(bin, "influxd");
  const configFile = join(files.dir, "influxdb.conf");
  const endpoint = `http://${HOST}:${port}`;

  return {
    name: "influxdb",
    version: INFLUXDB_VERSION,
    endpoint,
    ports: [
      { key: "VIGIL_INFLUX_PORT", port },
      { key: "VIGIL_INFLUX_RPC_PORT", port: rpcPort },
    ],
    ...files,
    marker: configFile,

    async provision() {
      if (existsSync(influxd)) return;
      await runStep({
        label: `influxdb: building influxd ${INFLUXDB_VERSION} with go install (a few minutes, once)`,
        command: "go",
        args: [
          "install",
          `-ldflags=-X main.version=${INFLUXDB_VERSION} -X main.branch=v${INFLUXDB_VERSION}`,
          `github.com/influxdata/influxdb/cmd/influxd@v${INFLUXDB_VERSION}`,
        ],
        // GOTOOLCHAIN=local: build with the installed Go, never download another toolchain.
        env: { GOBIN: bin, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" },
        progressLine: /^go: downloading/,
      });
    },

    async prepare() {
      for (const sub of ["meta", "data", "wal"])
        mkdirSync(join(files.dir, sub), { recursive: true });
      writeFileSync(
        configFile,
        [
          "# Written by `npm run stack -- up`; edits are overwritten.",
          "reporting-disabled = true",
          `bind-address = "${HOST}:${rpcPort}"`,
          "[meta]",
          `  dir = "${join(files.dir, "meta")}"`,
          "[data]",
          `  dir = "${join(files.dir, "data")}"`,
          `  wal-dir = "${join(files.dir, "wal")}"`,
          "  query-log-enabled = false",
          "[http]",
          "  enabled = true",
          `  bind-address = "${HOST}:${port}"`,
          "  flux-enabled = true",
          "  log-enabled = false",
          "[logging]",
          '  level = "warn"',
          "[monitor]",
          "  store-enabled = false",
          "[continuous_queries]",
          "  enabled = false",
          "",
        ].join("\n"),
      );
    },

    start() {
      return launch({ command: influxd, args: ["-config", configFile], cwd: files.dir, ...files });
    },

    healthy: () => httpOk(`${endpoint}/ping`, (status) => status === 204),

    async afterHealthy() {
      // CREATE DATABASE is idempotent in InfluxDB 1.x.
      const response = await fetch(`${endpoint}/query`, {
        method: "POST",
        body: new URLSearchParams({ q: `CREATE DATABASE "${database}"` }),
      });
      if (!response.ok)
        throw new Error(`influxdb: CREATE DATABASE ${database}: ${await response.text()}`);
    },
  };
}

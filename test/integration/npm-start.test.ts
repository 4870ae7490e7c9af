// `npm start`'s program on the real servers (given as external, so it leaves the stack alone):
// it starts every service, shows the live view with the host's own metrics flowing into
// InfluxDB, and on Ctrl-C (SIGINT) stops everything it started — no process left behind.
import { spawn } from "node:child_process";
import { describe, expect, inject, it } from "vitest";
import { influxql } from "../support/influx.js";
import { waitFor } from "../support/kafka.js";

const servers = inject("servers");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm start", () => {
  it("runs every service, shows the live view with this host's metrics flowing, and leaves no process behind on Ctrl-C", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "services/start.ts"], {
      env: {
        ...process.env,
        VIGIL_KAFKA_BROKERS: servers.kafka.brokers.join(","),
        VIGIL_INFLUX_URL: servers.influx.url,
        VIGIL_ES_URL: servers.elasticsearch.url,
        VIGIL_START_BASE_PORT: "19470",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    const pids: number[] = [];
    try {
      await waitFor("the live view", async () => out.includes("alerts firing:"), 120_000);
      for (const [, pid] of out.matchAll(/✓ [\w-]+ on :\d+ \(pid (\d+)\)/g)) pids.push(Number(pid));
      expect(pids.length).toBeGreaterThanOrEqual(9);
      expect(out).toMatch(/host-agent +in/);
      const host = (await import("node:os")).hostname();
      await waitFor(
        "this host's memory use in InfluxDB",
        async () => {
          const result = (await influxql(
            servers.influx,
            `SELECT last("value") FROM "memory_used_percent" WHERE "host" = '${host}' AND time > now() - 2m`,
            "vigil",
          )) as { results: { series?: unknown[] }[] };
          return (result.results[0]?.series?.length ?? 0) > 0;
        },
        60_000,
      );
    } finally {
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    }
    for (const pid of pids) expect(alive(pid), `service pid ${pid}`).toBe(false);
    expect(out).toContain("stopping services");
  }, 240_000);
});

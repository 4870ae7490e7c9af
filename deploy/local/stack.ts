// `up`, `down` and `status` of the local stack, written once over the LocalServer contract.
import { mkdirSync } from "node:fs";
import { HOST, type StackConfig } from "./config.js";
import {
  groupPids,
  groupRssBytes,
  portIsFree,
  removeFile,
  runningPid,
  stopGroup,
  tail,
} from "./process.js";
import { say } from "./progress.js";
import { everyLocalServer, localServers } from "./registry.js";
import type { LocalServer } from "./server.js";

export interface ServerState {
  name: string;
  version: string;
  endpoint: string;
  pid?: number;
  healthy: boolean;
  rssBytes: number;
  logFile: string;
}

export class StackError extends Error {
  override name = "StackError";
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function failure(server: LocalServer, why: string): StackError {
  return new StackError(
    `${server.name} ${why}. Last lines of ${server.logFile}:\n${tail(server.logFile, 25)}`,
  );
}

async function waitHealthy(server: LocalServer, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let nextNote = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await server.healthy()) return;
    if (groupPids(pid).length === 0) throw failure(server, "exited while starting");
    if (Date.now() >= nextNote) {
      say(`  … waiting for ${server.name} at ${server.endpoint}`);
      nextNote = Date.now() + 15_000;
    }
    await sleep(500);
  }
  await stopGroup(pid, 10_000);
  removeFile(server.pidFile);
  throw failure(server, `did not become healthy within ${timeoutMs / 1000}s and was stopped`);
}

async function startServer(server: LocalServer, config: StackConfig): Promise<void> {
  const started = Date.now();
  const existing = runningPid(server.pidFile, server.marker);
  if (existing !== undefined) {
    await waitHealthy(server, existing, config.startTimeoutMs);
    say(`${server.name} ${server.version} already running at ${server.endpoint} (pid ${existing})`);
    return;
  }
  for (const { key, port } of server.ports) {
    if (!(await portIsFree(HOST, port))) {
      throw new StackError(
        `${server.name}: port ${port} (${key}) on ${HOST} is taken by a process this stack did not start. ` +
          `Stop it, or set ${key} to a free port.`,
      );
    }
  }
  await server.prepare();
  const pid = server.start();
  say(`${server.name} ${server.version} starting (pid ${pid}), log: ${server.logFile}`);
  await waitHealthy(server, pid, config.startTimeoutMs);
  say(
    `✓ ${server.name} healthy at ${server.endpoint} (${((Date.now() - started) / 1000).toFixed(1)}s)`,
  );
}

/**
 * Provisions what is missing, starts what is not running and waits until every server is
 * healthy. Idempotent: with everything up it only checks health.
 */
export async function up(config: StackConfig): Promise<ServerState[]> {
  mkdirSync(config.stateDir, { recursive: true });
  const servers = localServers(config);
  for (const server of servers) {
    mkdirSync(server.dir, { recursive: true });
    await server.provision();
  }
  await Promise.all(servers.map((server) => startServer(server, config)));
  for (const server of servers) await server.afterHealthy?.();
  return status(config);
}

export async function down(config: StackConfig): Promise<void> {
  let stopped = 0;
  for (const server of everyLocalServer(config).reverse()) {
    const pid = runningPid(server.pidFile, server.marker);
    removeFile(server.pidFile);
    if (pid === undefined) continue;
    say(`stopping ${server.name} (pid ${pid})…`);
    const how = await stopGroup(pid);
    say(`✓ ${server.name} ${how}`);
    stopped += 1;
  }
  if (stopped === 0) say("nothing of ours was running");
}

export async function status(config: StackConfig): Promise<ServerState[]> {
  // The configured layout's servers, and any of the other layout's that still run.
  const configured = new Set(localServers(config).map((s) => s.name));
  const shown = everyLocalServer(config).filter(
    (s) => configured.has(s.name) || runningPid(s.pidFile, s.marker) !== undefined,
  );
  return Promise.all(
    shown.map(async (server) => {
      const pid = runningPid(server.pidFile, server.marker);
      return {
        name: server.name,
        version: server.version,
        endpoint: server.endpoint,
        pid,
        healthy: pid !== undefined && (await server.healthy()),
        rssBytes: pid === undefined ? 0 : groupRssBytes(pid),
        logFile: server.logFile,
      };
    }),
  );
}

export function formatStatus(states: ServerState[]): string {
  const rows = states.map((s) => [
    s.name,
    s.version,
    s.pid === undefined ? "stopped" : s.healthy ? "healthy" : "unhealthy",
    s.endpoint,
    s.pid === undefined ? "-" : String(s.pid),
    s.pid === undefined ? "-" : `${Math.round(s.rssBytes / 2 ** 20)} MiB`,
  ]);
  const table = [["server", "version", "state", "endpoint", "pid", "memory (RSS)"], ...rows];
  const widths = table[0]!.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
  return table
    .map((row) => row.map((cell, col) => cell.padEnd(widths[col]!)).join("  "))
    .join("\n");
}

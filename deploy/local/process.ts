// Detached server processes tracked by pid file: start, find, measure and stop exactly the
// processes `up` started — never anything else listening on the same port.
import { spawn } from "node:child_process";
import { existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";

export interface Launch {
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd: string;
  logFile: string;
  pidFile: string;
}

/** Starts a process in its own process group, so `down` can stop it with all its children. */
export function launch({ command, args, env, cwd, logFile, pidFile }: Launch): number {
  const log = openSync(logFile, "a");
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", log, log],
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
  return child.pid;
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
}

/**
 * The pid recorded in `pidFile`, if that process still runs and its command line contains
 * `marker` (a path of ours): a recycled pid belonging to someone else is never taken for ours.
 */
export function runningPid(pidFile: string, marker: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const line = cmdline(pid);
  return line?.includes(marker) ? pid : undefined;
}

/** Pids of every live process in the group led by `pgid`. */
export function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesised command: state, ppid, pgrp, ...
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Resident memory of the whole process group, in bytes. */
export function groupRssBytes(pgid: number): number {
  let total = 0;
  for (const pid of groupPids(pgid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      total += Number(match?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** SIGTERM to the group, SIGKILL after `graceMs`; resolves once no process of the group is left. */
export async function stopGroup(pgid: number, graceMs = 30_000): Promise<"stopped" | "killed"> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupPids(pgid).length === 0) return "stopped";
    await sleep(200);
  }
  signal("SIGKILL");
  while (groupPids(pgid).length > 0) await sleep(100);
  return "killed";
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

/** Whether nothing listens on 127.0.0.1:port. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, host, () => server.close(() => done(true)));
  });
}

/** The last `lines` lines of a log file, for error messages and `stack logs`. */
export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  const text = readFileSync(file, "utf8");
  return text
    .split("\n")
    .slice(-lines - 1)
    .join("\n")
    .trimEnd();
}

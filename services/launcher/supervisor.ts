// Runs Vigil services as separate processes — what `npm start` and the end-to-end test do: each
// gets its configuration file and a log file, is known to be up when it logs "service started"
// (with its HTTP port), and is stopped with SIGTERM (graceful drain), then SIGKILL after a grace.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export interface ServiceSpec {
  /** Unique per run, e.g. "detector": names its config and log files. */
  name: string;
  /** Script path relative to the repository root. */
  script: string;
  config: object;
  env?: Record<string, string>;
  /** Node options before the script, e.g. --cpu-prof (a bench's profile). */
  nodeArgs?: string[];
}

export interface Running {
  spec: ServiceSpec;
  child: ChildProcess;
  /** The HTTP port it serves /metrics on, once started. */
  port: Promise<number>;
  exited: Promise<number | null>;
  logFile: string;
  stop(graceMs?: number): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, "../..");

export function launch(spec: ServiceSpec, runDir: string): Running {
  mkdirSync(runDir, { recursive: true });
  const configFile = join(runDir, `${spec.name}.json`);
  const logFile = join(runDir, `${spec.name}.log`);
  writeFileSync(configFile, JSON.stringify(spec.config, null, 2));
  const child = spawn(
    process.execPath,
    [...(spec.nodeArgs ?? []), "--import", "tsx", join(ROOT, spec.script)],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        KAFKAJS_NO_PARTITIONER_WARNING: "1",
        ...spec.env,
        VIGIL_CONFIG: configFile,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const log = createWriteStream(logFile, { flags: "a" });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const port = new Promise<number>((resolvePort, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      log.write(`${line}\n`);
      if (line.includes('"service started"'))
        resolvePort((JSON.parse(line) as { port: number }).port);
    });
    void exited.then((code) =>
      reject(new Error(`${spec.name} exited (${code}) before starting; see ${logFile}`)),
    );
  });
  port.catch(() => undefined);
  return {
    spec,
    child,
    port,
    exited,
    logFile,
    stop: async (graceMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
}

/** Starts services one after another, each once the one before it is up. */
export async function launchAll(
  specs: ServiceSpec[],
  runDir: string,
  onStarted: (running: Running, port: number) => void = () => undefined,
): Promise<Running[]> {
  const running: Running[] = [];
  try {
    for (const spec of specs) {
      const service = launch(spec, runDir);
      running.push(service);
      onStarted(service, await service.port);
    }
    return running;
  } catch (error) {
    await Promise.all(running.map((r) => r.stop(5_000)));
    throw error;
  }
}

export async function stopAll(running: Running[]): Promise<void> {
  // In reverse of starting: producers (started last) first, then the stages after them, so work
  // in flight drains downstream.
  for (const service of [...running].reverse()) await service.stop();
}

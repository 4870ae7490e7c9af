// The contract every local server (Kafka, InfluxDB, Elasticsearch) fulfils, so that `up`,
// `down`, `status` and `logs` are written once for all of them.
import { join } from "node:path";

export interface PortSpec {
  /** The environment variable that sets it, named in errors. */
  key: string;
  port: number;
}

export interface LocalServer {
  name: string;
  /** The version this stack provisions and runs. */
  version: string;
  /** Where clients connect: `127.0.0.1:19092` or `http://127.0.0.1:18086`. */
  endpoint: string;
  ports: PortSpec[];
  /** This server's data, config and log directory under the state directory. */
  dir: string;
  logFile: string;
  pidFile: string;
  /** A path that appears in our process's command line, to recognise it by pid. */
  marker: string;
  /** Downloads or builds what is missing into the cache; quick when everything is there. */
  provision(): Promise<void>;
  /** Writes configuration and initialises storage; runs before every start. */
  prepare(): Promise<void>;
  /** Starts the server detached and returns the pid of its process group leader. */
  start(): number;
  /** Whether the server answers as a healthy one right now. */
  healthy(): Promise<boolean>;
  /** One-off set-up once healthy (e.g. the default database); must be idempotent. */
  afterHealthy?(): Promise<void>;
}

export function serverFiles(stateDir: string, name: string) {
  const dir = join(stateDir, name);
  return { dir, logFile: join(dir, `${name}.log`), pidFile: join(dir, `${name}.pid`) };
}

/** An HTTP probe that treats any failure (refused, timeout, bad status) as "not yet". */
export async function httpOk(url: string, accept: (status: number, body: string) => boolean) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return accept(response.status, await response.text());
  } catch {
    return false;
  }
}

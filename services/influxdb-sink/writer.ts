// Writes lines to InfluxDB through @influxdata/influxdb-client's v2 write API, in requests
// bounded by lines and bytes. InfluxDB refuses a whole request when one point is bad (a field
// type conflict, say), so a refused request is split in halves until the bad points are alone:
// every other point is written (writes are idempotent: same series and timestamp overwrite), and
// each bad point comes back with the server's own message. A store that is down, throttling or
// failing (network error, 429, 5xx) raises RetryableError, honouring Retry-After.
import { HttpError, InfluxDB, setLogger } from "@influxdata/influxdb-client";
import { RetryableError } from "../chassis/errors.js";
import type { ServiceMetrics } from "../chassis/metrics.js";
import { readSecret } from "../chassis/settings.js";
import type { InfluxSettings } from "./settings.js";

// The client logs every failed write to the console itself; our handler logs what matters.
setLogger({ error: () => undefined, warn: () => undefined });

export interface LineWriter {
  /** Writes every line it can; returns the index and server message of each refused line. */
  write(lines: string[]): Promise<Map<number, string>>;
}

const STORE = "influxdb";

function refusal(error: unknown): string | undefined {
  if (!(error instanceof HttpError)) return undefined;
  if (
    error.statusCode === 429 ||
    error.statusCode >= 500 ||
    error.statusCode === 401 ||
    error.statusCode === 403 ||
    // "database not found": the deployment's fault, not the data's — every point of every record
    // would be refused alike. Retried (the partition waits, /readyz turns red), never dead-lettered.
    error.statusCode === 404
  ) {
    return undefined; // not the data's fault: wait and retry
  }
  const body = (error.json as { error?: string } | undefined)?.error ?? error.body ?? error.message;
  return `InfluxDB ${error.statusCode}: ${String(body).trim()}`;
}

/** Consecutive runs of lines within the request bounds. */
export function chunk(lines: string[], maxLines: number, maxBytes: number): [number, number][] {
  const ranges: [number, number][] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const size = Buffer.byteLength(lines[i]!) + 1;
    if (i > start && (i - start >= maxLines || bytes + size > maxBytes)) {
      ranges.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < lines.length) ranges.push([start, lines.length]);
  return ranges;
}

export function createInfluxWriter(settings: InfluxSettings, metrics: ServiceMetrics): LineWriter {
  const token = settings.token ? readSecret(settings.token) : "";
  const client = new InfluxDB({ url: settings.url, token, timeout: settings.timeout });
  const options = {
    maxRetries: 0, // retries are the consumer's: it holds the partition and backs off
    batchSize: settings.maxLines + 1,
    maxBatchBytes: settings.maxBytes * 2,
    flushInterval: 0,
    gzipThreshold: settings.gzipThreshold,
  };

  async function post(lines: string[]): Promise<void> {
    const api = client.getWriteApi(settings.org, settings.bucket, "ns", options);
    const timer = metrics.sinkRequests.startTimer({ store: STORE });
    try {
      api.writeRecords(lines);
      await api.flush();
      timer({ outcome: "ok" });
      metrics.sinkWritten.inc({ store: STORE }, lines.length);
    } catch (error) {
      const refused = refusal(error);
      timer({ outcome: refused ? "rejected" : "retry" });
      if (refused) throw Object.assign(new Error(refused), { refused });
      const retryAfter = error instanceof HttpError ? error.retryAfter() : undefined;
      const status = error instanceof HttpError ? error.statusCode : undefined;
      const fault =
        status === 404 || status === 401 || status === 403 ? "configuration fault: " : "";
      throw new RetryableError(
        `InfluxDB write failed: ${fault}${(error as Error).message}`,
        retryAfter || undefined,
      );
    } finally {
      await api.close().catch(() => undefined);
    }
  }

  async function writeRange(
    lines: string[],
    from: number,
    to: number,
    refused: Map<number, string>,
  ) {
    try {
      await post(lines.slice(from, to));
    } catch (error) {
      const message = (error as { refused?: string }).refused;
      if (message === undefined) throw error;
      if (to - from === 1) {
        refused.set(from, message);
        metrics.sinkRejected.inc({ store: STORE });
        return;
      }
      const middle = from + Math.ceil((to - from) / 2);
      await writeRange(lines, from, middle, refused);
      await writeRange(lines, middle, to, refused);
    }
  }

  return {
    async write(lines) {
      const refused = new Map<number, string>();
      for (const [from, to] of chunk(lines, settings.maxLines, settings.maxBytes)) {
        await writeRange(lines, from, to, refused);
      }
      return refused;
    },
  };
}

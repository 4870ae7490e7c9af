// Writes lines to InfluxDB's `/api/v2/write` (InfluxDB 2, and 1.8+ with the bucket written
// "database/retention-policy"), in requests bounded by lines and bytes, each body built once as
// one buffer and gzipped (fast level) above a threshold, over kept-alive connections. InfluxDB
// refuses a whole request when one point is bad (a field type conflict, say), so a refused request
// is split in halves until the bad points are alone: every other point is written (writes are
// idempotent: same series and timestamp overwrite), and each bad point comes back with the
// server's own message. A store that is down, throttling or failing (network error, 429, 5xx)
// raises RetryableError, honouring Retry-After.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import { RetryableError } from "../chassis/errors.js";
import type { ServiceMetrics } from "../chassis/metrics.js";
import { readSecret } from "../chassis/settings.js";
import type { InfluxSettings } from "./settings.js";

const gzip = promisify(gzipCallback);

export interface LineWriter {
  /** Writes every line it can; returns the index and server message of each refused line. */
  write(lines: string[]): Promise<Map<number, string>>;
}

const STORE = "influxdb";

interface Reply {
  status: number;
  body: string;
  retryAfter?: string;
}

/** Whether a failed write is the data's fault (dead-lettered) or the store's (retried). */
function refusal({ status, body }: Reply): string | undefined {
  // 404 "database not found": the deployment's fault, not the data's — every point of every
  // record would be refused alike. Retried (the partition waits, /readyz turns red).
  if (status === 429 || status >= 500 || status === 401 || status === 403 || status === 404)
    return undefined;
  let text = body;
  try {
    const json = JSON.parse(body) as { error?: string; message?: string };
    text = json.error ?? json.message ?? body;
  } catch {
    // not JSON: the body as it is
  }
  return `InfluxDB ${status}: ${String(text).trim()}`;
}

/** Retry-After in ms: delta seconds or an HTTP date. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const ms = /^\d+$/.test(header) ? Number(header) * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
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
  const url = new URL("/api/v2/write", settings.url);
  url.search = new URLSearchParams({
    ...(settings.org && { org: settings.org }),
    bucket: settings.bucket,
    precision: "ns",
  }).toString();
  const secure = url.protocol === "https:";
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets: 8 })
    : new HttpAgent({ keepAlive: true, maxSockets: 8 });
  const send = secure ? httpsRequest : httpRequest;

  function exchange(body: Buffer, gzipped: boolean): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: "POST",
          agent,
          timeout: settings.timeout,
          headers: {
            "content-type": "text/plain; charset=utf-8",
            "content-length": body.length,
            ...(gzipped && { "content-encoding": "gzip" }),
            ...(token && { authorization: `Token ${token}` }),
          },
        },
        (res: IncomingMessage) => {
          const parts: Buffer[] = [];
          res.on("data", (part: Buffer) => parts.push(part));
          res.on("error", reject);
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(parts).toString("utf8"),
              retryAfter: res.headers["retry-after"],
            }),
          );
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer in ${settings.timeout} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  async function post(lines: string[], from: number, to: number): Promise<void> {
    let body = Buffer.from(lines.slice(from, to).join("\n"));
    const gzipped = body.length > settings.gzipThreshold;
    if (gzipped) body = await gzip(body, { level: settings.gzipLevel });
    const timer = metrics.sinkRequests.startTimer({ store: STORE });
    let reply: Reply;
    try {
      reply = await exchange(body, gzipped);
    } catch (error) {
      timer({ outcome: "retry" });
      throw new RetryableError(`InfluxDB write failed: ${(error as Error).message}`);
    }
    if (reply.status >= 200 && reply.status < 300) {
      timer({ outcome: "ok" });
      metrics.sinkWritten.inc({ store: STORE }, to - from);
      return;
    }
    const refused = refusal(reply);
    timer({ outcome: refused ? "rejected" : "retry" });
    if (refused) throw Object.assign(new Error(refused), { refused });
    const fault = [401, 403, 404].includes(reply.status) ? "configuration fault: " : "";
    throw new RetryableError(
      `InfluxDB write failed: ${fault}${reply.status} ${reply.body.trim().slice(0, 300)}`,
      retryAfterMs(reply.retryAfter, Date.now()),
    );
  }

  async function writeRange(
    lines: string[],
    from: number,
    to: number,
    refused: Map<number, string>,
  ) {
    try {
      await post(lines, from, to);
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

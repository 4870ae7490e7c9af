// Fetching a page to scrape: http or https (the job's CA, client certificate and server name),
// basic or bearer authentication from secret references, a timeout and a size limit — the page is
// read no further than the limit.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { readSecret } from "../chassis/settings.js";
import type { JobSettings } from "./settings.js";

export interface Page {
  status: number;
  contentType: string;
  body: string;
}

export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** The request options a job's auth and TLS settings make, secrets read now. */
export function clientOptions(job: Pick<JobSettings, "auth" | "tls">): {
  headers: Record<string, string>;
  tls: Record<string, unknown>;
} {
  const headers: Record<string, string> = {};
  if (job.auth && "basic" in job.auth) {
    const { username, password } = job.auth.basic;
    headers.authorization = `Basic ${Buffer.from(`${username}:${readSecret(password)}`).toString("base64")}`;
  } else if (job.auth && "bearer" in job.auth)
    headers.authorization = `Bearer ${readSecret(job.auth.bearer)}`;
  const tls: Record<string, unknown> = {};
  if (job.tls) {
    if (job.tls.ca) tls.ca = readSecret(job.tls.ca);
    if (job.tls.cert) tls.cert = readSecret(job.tls.cert);
    if (job.tls.key) tls.key = readSecret(job.tls.key);
    if (job.tls.serverName) tls.servername = job.tls.serverName;
    tls.rejectUnauthorized = !job.tls.insecureSkipVerify;
  }
  return { headers, tls };
}

export function fetchPage(
  url: string,
  options: {
    headers: Record<string, string>;
    tls: Record<string, unknown>;
    timeoutMs: number;
    limit: number;
  },
): Promise<Page> {
  const https = url.startsWith("https:");
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      url,
      { headers: options.headers, ...(https && options.tls) },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.limit) {
            req.destroy(new Error(`body exceeds the limit of ${options.limit} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers["content-type"] ?? "",
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.setTimeout(options.timeoutMs, () =>
      req.destroy(new TimeoutError(`timed out after ${options.timeoutMs}ms`)),
    );
    req.on("error", reject);
    req.end();
  });
}

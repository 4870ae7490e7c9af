// The HTTP mechanics of ingest: bounded (and gunzipped) bodies, and the token check in the forms
// InfluxDB clients send it (Authorization: Token/Bearer, Basic with the token as password, or the
// v1 query parameters u/p).
import type { IncomingMessage } from "node:http";
import { createGunzip } from "node:zlib";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The request's body, gunzipped where it says gzip, at most `limit` bytes. An encoding in `raw`
 * (remote_write's snappy) is returned as it came, for the caller to decode.
 */
export async function readBody(
  req: IncomingMessage,
  limit: number,
  raw: string[] = [],
): Promise<Buffer> {
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip" && !raw.includes(encoding))
    throw new HttpError(415, `unsupported Content-Encoding "${encoding}"`);
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (encoding !== "gzip" && declared > limit)
    throw new HttpError(413, `body of ${declared} bytes exceeds the limit of ${limit}`);
  const source = encoding === "gzip" ? req.pipe(createGunzip()) : req;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        req.resume();
        throw new HttpError(
          413,
          `body exceeds the limit of ${limit} bytes${encoding === "gzip" ? " once decompressed" : ""}`,
        );
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, `cannot read the body: ${(error as Error).message}`);
  }
  return Buffer.concat(chunks);
}

export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization ?? "";
  const [scheme, credential = ""] = header.split(" ", 2);
  if (/^(token|bearer)$/i.test(scheme ?? "")) return credential;
  if (/^basic$/i.test(scheme ?? ""))
    return Buffer.from(credential, "base64").toString().split(":").slice(1).join(":");
  return url.searchParams.get("p") ?? undefined;
}

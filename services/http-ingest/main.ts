// HTTP ingest: metrics as InfluxDB line protocol on InfluxDB's write paths (/write, /api/v2/write,
// and /ping), so Telegraf or any InfluxDB client can point at Vigil unchanged; OTLP/HTTP metrics
// and logs (/v1/metrics, /v1/logs), Prometheus remote_write (/api/v1/write); logs as JSON lines
// on /logs. A request is answered 204 only once its records are acknowledged by Kafka
// (acks=all); a bad body gets 400 naming the line; a body that would pass the in-flight budget, 429
// before it is read; a point too large for Kafka, 413; when Kafka does not acknowledge in time,
// 503 — never unbounded buffering.
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "../chassis/config.js";
import type { OutboundRecord } from "../chassis/producer.js";
import { permanentProduceError } from "../chassis/kafka-errors.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { readSecret } from "../chassis/settings.js";
import { HttpError, presentedToken, readBody } from "./http.js";
import { parseLines, utf8Body, type LineProtocolError, type Precision } from "./line-protocol.js";
import { parseLogLines } from "./logs.js";
import { logRecords, metricRecords, samplesOf } from "./records.js";
import { eventsOfOtlp } from "./otlp/logs.js";
import { samplesOfOtlp } from "./otlp/metrics.js";
import { decodeLogs, decodeMetrics, encodingOf, exportResponse, statusBody } from "./otlp/proto.js";
import { decodeRemoteWrite, protocolOf, unsnappy, type RemoteWrite } from "./remote-write.js";
import { ingestSettings, type IngestSettings } from "./settings.js";

/** HTTP statuses as google.rpc.Code, for OTLP's error bodies. */
const GRPC_CODES: Record<number, number> = {
  400: 3,
  401: 16,
  404: 5,
  405: 12,
  413: 8,
  415: 3,
  429: 8,
  500: 13,
  503: 14,
};

const PRECISIONS: Record<string, Precision> = {
  n: "ns",
  ns: "ns",
  u: "us",
  us: "us",
  ms: "ms",
  s: "s",
};

/** InfluxDB's partial-write message: the first five reasons and how many were dropped. */
function partialMessage(errors: string[]): string {
  const more = errors.length > 5 ? `; …and ${errors.length - 5} more` : "";
  return `partial write: ${errors.slice(0, 5).join("; ")}${more} dropped=${errors.length}`;
}

interface Answer {
  status: number;
  body?: Buffer;
  headers?: Record<string, string>;
}

export interface IngestService extends Service {
  ingestPort: number;
}

export async function startIngest(
  settings: IngestSettings,
  now: () => number = Date.now,
): Promise<IngestService> {
  const { ingest } = settings;
  const token = ingest.auth === "token" ? Buffer.from(readSecret(ingest.token!)) : undefined;
  const service = await startService({
    name: settings.service ?? "http-ingest",
    settings,
    now,
    ...(ingest.edgeBuffer && { edgeBuffer: ingest.edgeBuffer }),
  });
  const { metrics, producer, logger } = service;
  let inFlight = 0;

  const authorised = (req: IncomingMessage, url: URL) => {
    if (!token) return true;
    const given = Buffer.from(presentedToken(req, url) ?? "");
    return given.length === token.length && timingSafeEqual(given, token);
  };

  /**
   * Admits a request's body against the in-flight budget before a byte of it is read: the size it
   * declares, or the largest allowed when it does not say (chunked, gzip). Released once answered.
   */
  function admit(req: IncomingMessage): number {
    const declared = Number(req.headers["content-length"] ?? NaN);
    const encoding = req.headers["content-encoding"] ?? "identity";
    // remote_write's snappy bodies are always compressed, typically 3–8×: charged at 8× what they
    // declare (gzip says nothing of its ratio, so is charged the most allowed).
    const factor = encoding === "identity" ? 1 : encoding === "snappy" ? 8 : Infinity;
    const bytes =
      Number.isSafeInteger(declared) && declared * factor <= ingest.maxBodyBytes
        ? declared * factor
        : ingest.maxBodyBytes;
    if (inFlight > 0 && inFlight + bytes > ingest.maxInFlightBytes) {
      metrics.dropped.inc({ reason: "ingest_backpressure_429" });
      throw new HttpError(429, "too many bytes in flight; retry shortly", { "retry-after": "1" });
    }
    inFlight += bytes;
    return bytes;
  }

  async function publish(records: OutboundRecord[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        producer.send(records),
        new Promise((_, reject) => {
          // With the edge buffer, a send ends acknowledged or kept on disk: never cut short, or
          // the client would retry what is already kept.
          if (ingest.edgeBuffer) return;
          timer = setTimeout(
            () =>
              reject(
                new HttpError(503, "Kafka did not acknowledge in time; retry", {
                  "retry-after": "5",
                }),
              ),
            ingest.publishTimeout,
          );
        }),
      ]);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      const refused = permanentProduceError(error);
      // Too large for Kafka is the request's doing: retrying it as it is would fail forever.
      if (refused === "MESSAGE_TOO_LARGE" || refused === "RECORD_LIST_TOO_LARGE")
        throw new HttpError(
          413,
          "a point of this request is larger than Kafka's record limit; send it smaller",
        );
      if (refused) throw new HttpError(500, `Kafka refused the write (${refused})`);
      throw new HttpError(503, `Kafka unavailable: ${(error as Error).message}`, {
        "retry-after": "5",
      });
    } finally {
      clearTimeout(timer);
    }
  }

  const WRITE_PATHS = [
    "/write",
    "/api/v2/write",
    "/logs",
    "/v1/metrics",
    "/v1/logs",
    "/api/v1/write",
  ];

  async function handle(req: IncomingMessage, url: URL): Promise<Answer> {
    const path = url.pathname;
    if (!WRITE_PATHS.includes(path)) throw new HttpError(404, `no such endpoint ${path}`);
    if (req.method !== "POST") throw new HttpError(405, `${path} accepts POST`);
    if (!authorised(req, url)) throw new HttpError(401, "missing or wrong token");
    const admitted = admit(req);
    try {
      if (path === "/v1/metrics" || path === "/v1/logs") return await otlp(req, path);
      if (path === "/api/v1/write") return await remoteWrite(req);
      await parseAndPublish(req, url, path);
      return { status: 204 };
    } finally {
      inFlight -= admitted;
    }
  }

  /** OTLP/HTTP: the answer in the request's encoding, partial success where points were refused. */
  async function otlp(req: IncomingMessage, path: string): Promise<Answer> {
    const encoding = encodingOf(req.headers["content-type"]);
    if (!encoding)
      throw new HttpError(
        415,
        `Content-Type: expected application/x-protobuf or application/json, got "${req.headers["content-type"] ?? ""}"`,
      );
    const body = await readBody(req, ingest.maxBodyBytes);
    const receivedAt = now();
    const signal = path === "/v1/metrics" ? "metrics" : "logs";
    let records: OutboundRecord[];
    let rejected: number;
    let reasons: string[];
    try {
      if (signal === "metrics") {
        const converted = samplesOfOtlp(decodeMetrics(body, encoding), ingest.otlp);
        if (converted.exemplars > 0)
          metrics.dropped.inc({ reason: "otlp_exemplar" }, converted.exemplars);
        ({ rejected, reasons } = converted);
        records = metricRecords(ingest.metricsTopic, converted.samples, ingest.maxSamplesPerRecord);
      } else {
        const converted = eventsOfOtlp(decodeLogs(body, encoding), receivedAt);
        ({ rejected, reasons } = converted);
        records = logRecords(ingest.logsTopic, converted.events, ingest.maxSamplesPerRecord);
      }
    } catch (error) {
      metrics.dropped.inc({ reason: "ingest_bad_request" });
      throw new HttpError(400, (error as Error).message);
    }
    await publish(records);
    if (rejected > 0) metrics.dropped.inc({ reason: `otlp_rejected_${signal}` }, rejected);
    return {
      status: 200,
      body: exportResponse(signal, { rejected, message: reasons.join("; ") }, encoding),
      headers: {
        "content-type": encoding === "json" ? "application/json" : "application/x-protobuf",
      },
    };
  }

  /** Prometheus remote_write 1.0 and 2.0: 204 once durable; unreadable series reported with 400. */
  async function remoteWrite(req: IncomingMessage): Promise<Answer> {
    const protocol = protocolOf(req.headers["content-type"]);
    if (!protocol)
      throw new HttpError(
        415,
        `Content-Type: expected application/x-protobuf;proto=prometheus.WriteRequest or io.prometheus.write.v2.Request, got "${req.headers["content-type"]}"`,
      );
    const encoding = (req.headers["content-encoding"] ?? "snappy").toLowerCase();
    if (encoding !== "snappy")
      throw new HttpError(415, `Content-Encoding: remote_write is snappy, got "${encoding}"`);
    let written: RemoteWrite;
    try {
      const raw = await readBody(req, ingest.maxBodyBytes, ["snappy"]);
      written = decodeRemoteWrite(unsnappy(raw, ingest.maxBodyBytes), protocol);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      metrics.dropped.inc({ reason: "ingest_bad_request" });
      throw new HttpError(400, (error as Error).message);
    }
    if (written.staleMarkers > 0)
      metrics.dropped.inc({ reason: "remote_write_stale_marker" }, written.staleMarkers);
    if (written.histograms > 0)
      metrics.dropped.inc({ reason: "remote_write_native_histogram" }, written.histograms);
    if (written.exemplars > 0)
      metrics.dropped.inc({ reason: "remote_write_exemplar" }, written.exemplars);
    await publish(metricRecords(ingest.metricsTopic, written.samples, ingest.maxSamplesPerRecord));
    const headers: Record<string, string> =
      protocol === "2.0"
        ? {
            "x-prometheus-remote-write-samples-written": String(written.samples.length),
            "x-prometheus-remote-write-histograms-written": "0",
            "x-prometheus-remote-write-exemplars-written": "0",
          }
        : {};
    if (written.errors.length > 0) {
      metrics.dropped.inc({ reason: "remote_write_bad_series" }, written.errors.length);
      throw new HttpError(400, partialMessage(written.errors), headers);
    }
    return { status: 204, headers };
  }

  /**
   * InfluxDB 1.x's /query, for what writers send there: Telegraf's v1 output creates its
   * database at start (`CREATE DATABASE "telegraf"`). Ingest keeps no databases — everything goes
   * to Kafka — so that statement succeeds as a no-op; any other query is refused, naming it.
   */
  async function query(req: IncomingMessage, url: URL): Promise<object> {
    if (!authorised(req, url)) throw new HttpError(401, "missing or wrong token");
    let q = url.searchParams.get("q");
    if (q === null && req.method === "POST") {
      const body = (await readBody(req, 64 * 1024)).toString("utf8");
      q = new URLSearchParams(body).get("q");
    }
    if (!q) throw new HttpError(400, "q: missing the query");
    const statements = q
      .split(";")
      .map((s) => s.trim())
      .filter(Boolean);
    const other = statements.find((s) => !/^CREATE\s+DATABASE\s/i.test(s));
    if (other)
      throw new HttpError(
        400,
        `q: ingest takes writes only; ${JSON.stringify(other.slice(0, 80))} is for InfluxDB itself (only CREATE DATABASE is answered, as a no-op)`,
      );
    return { results: statements.map((_, i) => ({ statement_id: i })) };
  }

  async function parseAndPublish(req: IncomingMessage, url: URL, path: string): Promise<void> {
    const body = await readBody(req, ingest.maxBodyBytes);
    const receivedAt = now();
    let records: OutboundRecord[];
    let badLines: LineProtocolError[] = [];
    try {
      if (path === "/logs") {
        records = logRecords(
          ingest.logsTopic,
          parseLogLines(body.toString("utf8"), receivedAt),
          ingest.maxSamplesPerRecord,
        );
      } else {
        const precision = PRECISIONS[url.searchParams.get("precision") ?? "ns"];
        if (!precision)
          throw new Error(
            `precision: expected one of ns, us, ms, s, got "${url.searchParams.get("precision")}"`,
          );
        const { points, errors } = parseLines(utf8Body(body), precision);
        badLines = errors;
        const { samples, events } = samplesOf(points, receivedAt);
        records = [
          ...metricRecords(ingest.metricsTopic, samples, ingest.maxSamplesPerRecord),
          ...logRecords(ingest.logsTopic, events, ingest.maxSamplesPerRecord),
        ];
      }
    } catch (error) {
      metrics.dropped.inc({ reason: "ingest_bad_request" });
      throw new HttpError(400, (error as Error).message);
    }
    await publish(records);
    // As InfluxDB: the good lines are written (above, durably), the bad ones reported with 400.
    if (badLines.length > 0) {
      metrics.dropped.inc({ reason: "ingest_bad_line" }, badLines.length);
      throw new HttpError(400, partialMessage(badLines.map((e) => e.message)));
    }
  }

  const reply = (
    res: ServerResponse,
    status: number,
    message?: string,
    headers: Record<string, string> = {},
  ) => {
    if (message === undefined) res.writeHead(status, headers).end();
    else
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(
        // InfluxDB 1.x answers {error}; 2.x {code, message}: both, so either client reads it.
        JSON.stringify({
          error: message,
          code: status === 400 ? "invalid" : status === 401 ? "unauthorized" : "internal error",
          message,
        }),
      );
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://ingest");
    if (url.pathname === "/ping")
      return reply(res, 204, undefined, { "x-influxdb-version": "vigil" });
    if (url.pathname === "/query") {
      query(req, url).then(
        (body) =>
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body)),
        (error: unknown) => {
          if (!req.complete) req.resume();
          reply(res, error instanceof HttpError ? error.status : 500, (error as Error).message);
        },
      );
      return;
    }
    handle(req, url).then(
      (answer) =>
        answer.body === undefined
          ? reply(res, answer.status, undefined, answer.headers)
          : res.writeHead(answer.status, answer.headers).end(answer.body),
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        // Refused before its body was read (401, 429, 413): the rest is read and discarded, never
        // kept, so the client still gets its answer rather than a broken pipe.
        if (!req.complete) req.resume();
        if (status >= 500) logger.error({ err: error }, "ingest request failed");
        const headers = error instanceof HttpError ? error.headers : {};
        const encoding = url.pathname.startsWith("/v1/")
          ? encodingOf(req.headers["content-type"])
          : undefined;
        // OTLP answers errors with a google.rpc.Status in the request's own encoding.
        if (encoding)
          return res
            .writeHead(status, {
              ...headers,
              "content-type": encoding === "json" ? "application/json" : "application/x-protobuf",
            })
            .end(statusBody(GRPC_CODES[status] ?? 13, (error as Error).message, encoding));
        reply(
          res,
          status,
          (error as Error).message,
          error instanceof HttpError ? error.headers : {},
        );
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(ingest.port, ingest.host, resolve);
  });
  const ingestPort = (server.address() as AddressInfo).port;
  logger.info({ port: ingestPort }, "ingest listening");

  const stop = service.stop;
  return {
    ...service,
    ingestPort,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stop();
    },
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(ingestSettings);
  await runMain(() => startIngest(settings), settings.shutdown.deadline);
}

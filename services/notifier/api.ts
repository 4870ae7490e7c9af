// The notifier's HTTP API, served beside /healthz and /metrics on every instance (the active one
// and those standing by: what they write goes through Kafka to all of them).
//   GET    /api/v1/alerts                     alerts with what mutes them (active instance)
//   GET    /api/v1/silences                   every silence
//   POST   /api/v1/silences                   {matchers, duration|endsAt, createdBy, comment}
//   DELETE /api/v1/silences/:id               expire it now
//   POST   /api/v1/alerts/:fingerprint/ack    {by, comment}
//   /api/v2/...                               Alertmanager's API v2 (alertmanager-api.ts)
//   GET /-/healthy, GET /-/ready, POST /-/reload   as Alertmanager's
// With api.token set, every request but /-/healthy and /-/ready needs
// `Authorization: Bearer <token>`. Errors are 400 with the field named.
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import type { OutputProducer } from "../chassis/producer.js";
import { duration } from "../chassis/config.js";
import { acknowledge, addSilence, expireSilence } from "./commands.js";
import type { Dispatcher } from "./dispatcher.js";
import { SilenceError, type Acks, type Silences } from "./stores.js";
import { consoleFile, CONSOLE_HEADERS } from "./console/console-api.js";
import type { ApiReply, ApiRequest } from "./alertmanager-api.js";

export interface ApiDeps {
  producer: OutputProducer;
  topics: { silences: string; acks: string };
  silences: Silences;
  dispatcher: () => Dispatcher | undefined;
  /**
   * Whether this replica is the one that groups and sends; every answer says so in
   * `X-Vigil-Replica` (a standby's reads come from its view of the active one).
   */
  role?: () => "active" | "standby";
  token?: string;
  now: () => number;
  /** Alertmanager's API v2 and the console, answered when they know the path. */
  extra?: (req: ApiRequest) => Promise<ApiReply | undefined>;
  /** Reads the routing configuration again; throws saying what is wrong with it. */
  reload: () => void;
  ready: () => boolean;
  /** Further paths `extra` answers (the console's pages). */
  owns?: (path: string) => boolean;
  /** Applied at once, so the console shows an acknowledgement without waiting for the topic. */
  acks?: Acks;
}

const MAX_BODY = 64 * 1024;

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
}

async function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new SilenceError(`body: larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new SilenceError("body: not JSON");
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, MAX_BODY);
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new SilenceError("body: expected a JSON object");
  return body as Record<string, unknown>;
}

/** Posted alerts come in batches (Prometheus sends up to 64 KiB…some MiB at once). */
const MAX_ALERTS_BODY = 8 * 1024 * 1024;

/** Whether a browser sent this request from a page of another origin than this server. */
function crossSite(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return req.headers["sec-fetch-site"] === "cross-site";
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/** `Bearer <token>`, or — so a browser can open the console — basic auth with the token as password. */
function authorised(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? "";
  const same = (given: string) => {
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  if (header.startsWith("Bearer ")) return same(header.slice(7));
  if (header.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    return same(decoded.slice(decoded.indexOf(":") + 1));
  }
  return false;
}

export function notifierApi(deps: ApiDeps) {
  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? "GET";
    if (deps.role) res.setHeader("x-vigil-replica", deps.role());
    if (path === "/-/healthy") return void res.writeHead(200).end("OK");
    if (path === "/-/ready")
      return void res.writeHead(deps.ready() ? 200 : 503).end(deps.ready() ? "OK" : "starting");
    // A page on another site must not drive the (login-free on loopback) API from a browser:
    // browsers say where a request comes from; a state change from elsewhere is refused.
    if (method !== "GET" && method !== "HEAD" && crossSite(req))
      return reply(res, 403, { error: "origin: requests from other sites are refused" });
    if (!authorised(req, deps.token)) {
      res.setHeader("www-authenticate", 'Basic realm="Vigil", charset="UTF-8"');
      return reply(res, 401, { error: "authorization: bearer token required" });
    }
    if (method === "GET" && path === "/")
      return void res.writeHead(302, { location: "/console/" }).end();
    if (method === "GET") {
      const file = consoleFile(path);
      if (file)
        return void res
          .writeHead(200, { "content-type": file.type, ...CONSOLE_HEADERS })
          .end(file.body);
    }
    if (path === "/-/reload" && method === "POST") {
      try {
        deps.reload();
      } catch (error) {
        return void res.writeHead(500).end(`failed to reload config: ${(error as Error).message}`);
      }
      return void res.writeHead(200).end();
    }
    const url = new URL(req.url ?? "/", "http://vigil");
    const extra = await deps.extra?.({
      method,
      path,
      query: url.searchParams,
      body: () => readBody(req, MAX_ALERTS_BODY),
    });
    if (extra) {
      if (typeof extra.body === "string" && extra.status !== 200)
        return reply(res, extra.status, extra.body);
      if (extra.body === "") return void res.writeHead(extra.status).end();
      return reply(res, extra.status, extra.body);
    }
    if (path === "/api/v1/alerts" && method === "GET")
      return reply(res, 200, {
        active: !!deps.dispatcher(),
        alerts: deps.dispatcher()?.view(deps.now()) ?? [],
      });
    if (path === "/api/v1/silences" && method === "GET")
      return reply(res, 200, { silences: deps.silences.list() });
    if (path === "/api/v1/silences" && method === "POST") {
      const body = await readJson(req);
      let ms: number | undefined;
      if (body.duration !== undefined) {
        const parsed = duration.safeParse(body.duration);
        if (!parsed.success) throw new SilenceError(`duration: ${parsed.error.issues[0]?.message}`);
        ms = parsed.data;
      }
      const silence = await addSilence(
        deps.producer,
        deps.topics.silences,
        {
          matchers: String(body.matchers ?? ""),
          ...(ms !== undefined && { duration: ms }),
          ...(typeof body.endsAt === "string" && { endsAt: Date.parse(body.endsAt) }),
          createdBy: String(body.createdBy ?? ""),
          comment: String(body.comment ?? ""),
        },
        deps.now(),
      );
      deps.silences.apply(silence);
      return reply(res, 201, silence);
    }
    const silence = /^\/api\/v1\/silences\/([\w-]+)$/.exec(path);
    if (silence && method === "DELETE") {
      const expired = await expireSilence(
        deps.producer,
        deps.topics.silences,
        deps.silences.get(silence[1]!),
        deps.now(),
      );
      deps.silences.apply(expired);
      return reply(res, 200, expired);
    }
    const ack = /^\/api\/v1\/alerts\/([^/]+)\/ack$/.exec(path);
    if (ack && (method === "POST" || method === "DELETE")) {
      // DELETE takes an acknowledgement back: the alert repeats and escalates again.
      const body = await readJson(req);
      const made = await acknowledge(
        deps.producer,
        deps.topics.acks,
        {
          fingerprint: ack[1]!,
          by: String(body.by ?? ""),
          comment: String(body.comment ?? ""),
          withdrawn: method === "DELETE",
        },
        deps.now(),
      );
      deps.acks?.apply(made);
      return reply(res, method === "POST" ? 201 : 200, made);
    }
    reply(res, 404, { error: `no ${method} ${path}` });
  }

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (!path.startsWith("/api/") && !path.startsWith("/-/") && !deps.owns?.(path)) return false;
    handle(req, res, path).catch((error: unknown) => {
      // Alertmanager's API v2 answers errors as a JSON string; Vigil's v1 as {error}.
      const v2 = path.startsWith("/api/v2/");
      if (error instanceof SilenceError)
        reply(res, 400, v2 ? error.message : { error: error.message });
      else reply(res, 500, { error: (error as Error).message });
    });
    return true;
  };
}

// Local stand-ins for Slack and PagerDuty (which tests cannot reach): HTTP receivers that check
// each request against the published formats — Slack's incoming-webhook Block Kit limits and
// PagerDuty's Events API v2 — answer 400 naming what is wrong, and keep what they accepted. They
// can be told to fail with 503 for a while, like a receiver having an outage.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

const isString = (v: unknown, max: number) =>
  typeof v === "string" && v.length > 0 && v.length <= max;

const text = (t: unknown, max: number, kinds = ["plain_text", "mrkdwn"]) => {
  const o = t as { type?: unknown; text?: unknown } | undefined;
  return !!o && kinds.includes(String(o.type)) && isString(o.text, max);
};

/** Problems with a Slack incoming-webhook message (Block Kit, as Slack documents it). */
export function slackProblems(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!isString(body.text, 40_000)) problems.push("text: the notification fallback is required");
  const attachments = (body.attachments ?? []) as { color?: unknown; blocks?: unknown }[];
  const blockLists = [body.blocks, ...attachments.map((a) => a.blocks)].filter(
    (b) => b !== undefined,
  );
  for (const a of attachments)
    if (a.color !== undefined && !/^#[0-9A-Fa-f]{6}$/.test(String(a.color)))
      problems.push(`color: ${String(a.color)}`);
  for (const blocks of blockLists) {
    if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > 50) {
      problems.push("blocks: 1 to 50 blocks");
      continue;
    }
    for (const [i, block] of (blocks as Record<string, unknown>[]).entries()) {
      const at = `blocks[${i}] (${String(block.type)})`;
      switch (block.type) {
        case "header":
          if (!text(block.text, 150, ["plain_text"]))
            problems.push(`${at}.text: plain_text of at most 150`);
          break;
        case "section": {
          const fields = block.fields as unknown[] | undefined;
          if (block.text === undefined && fields === undefined)
            problems.push(`${at}: text or fields`);
          if (block.text !== undefined && !text(block.text, 3000))
            problems.push(`${at}.text: at most 3000`);
          if (fields !== undefined && (fields.length > 10 || !fields.every((f) => text(f, 2000))))
            problems.push(`${at}.fields: at most 10 of at most 2000`);
          break;
        }
        case "actions": {
          const elements = (block.elements ?? []) as Record<string, unknown>[];
          if (elements.length === 0 || elements.length > 25)
            problems.push(`${at}.elements: 1 to 25`);
          for (const e of elements)
            if (
              e.type !== "button" ||
              !text(e.text, 75, ["plain_text"]) ||
              (e.url !== undefined && !isString(e.url, 3000))
            )
              problems.push(`${at}: a button needs plain_text text (≤75) and a url (≤3000)`);
          break;
        }
        case "context": {
          const elements = (block.elements ?? []) as unknown[];
          if (
            elements.length === 0 ||
            elements.length > 10 ||
            !elements.every((e) => text(e, 3000))
          )
            problems.push(`${at}.elements: 1 to 10 text elements`);
          break;
        }
        case "divider":
          break;
        default:
          problems.push(`${at}: not a block type this receiver knows`);
      }
    }
  }
  if (blockLists.length === 0) problems.push("blocks: a Block Kit message has blocks");
  return problems;
}

/** Problems with a PagerDuty Events API v2 event. */
export function pagerDutyProblems(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const allowed = [
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "images",
    "links",
    "client",
    "client_url",
  ];
  for (const key of Object.keys(body))
    if (!allowed.includes(key)) problems.push(`${key}: not a field of the Events API v2`);
  if (!/^[A-Za-z0-9]{32}$/.test(String(body.routing_key)))
    problems.push("routing_key: a 32-character integration key");
  if (!["trigger", "acknowledge", "resolve"].includes(String(body.event_action)))
    problems.push("event_action");
  if (body.dedup_key !== undefined && !isString(body.dedup_key, 255))
    problems.push("dedup_key: at most 255");
  if (body.event_action !== "trigger") {
    if (body.dedup_key === undefined)
      problems.push("dedup_key: required to acknowledge or resolve");
    return problems;
  }
  const payload = (body.payload ?? {}) as Record<string, unknown>;
  if (!isString(payload.summary, 1024)) problems.push("payload.summary: 1 to 1024 characters");
  if (!isString(payload.source, 1024)) problems.push("payload.source: required");
  if (!["critical", "error", "warning", "info"].includes(String(payload.severity)))
    problems.push("payload.severity");
  if (payload.timestamp !== undefined && Number.isNaN(Date.parse(String(payload.timestamp))))
    problems.push("payload.timestamp: ISO 8601");
  for (const link of (body.links ?? []) as Record<string, unknown>[])
    if (!isString(link.href, 2048)) problems.push("links[].href");
  return problems;
}

export interface Receivers {
  url: string;
  received: Received[];
  /** Requests refused (by a check, or by an outage) with the reason. */
  refused: { path: string; status: number; reason: string }[];
  /** Answer 503 on this path until the given time (ms since the epoch). */
  failUntil(path: string, until: number): void;
  of(path: string): Received[];
  close(): Promise<void>;
}

export async function startReceivers(): Promise<Receivers> {
  const received: Received[] = [];
  const refused: Receivers["refused"] = [];
  const outages = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0]!;
      if ((outages.get(path) ?? 0) > Date.now()) {
        refused.push({ path, status: 503, reason: "outage" });
        res.writeHead(503).end("service unavailable");
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      } catch {
        refused.push({ path, status: 400, reason: "not JSON" });
        res.writeHead(400).end("invalid JSON");
        return;
      }
      const problems = path.startsWith("/slack")
        ? slackProblems(body)
        : path.startsWith("/pagerduty")
          ? pagerDutyProblems(body)
          : [];
      if (problems.length > 0) {
        refused.push({ path, status: 400, reason: problems.join("; ") });
        res.writeHead(400).end(problems.join("; "));
        return;
      }
      received.push({ path, body, headers: req.headers, at: Date.now() });
      res
        .writeHead(path.startsWith("/pagerduty") ? 202 : 200)
        .end(path.startsWith("/pagerduty") ? '{"status":"success"}' : "ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    refused,
    failUntil: (path, until) => void outages.set(path, until),
    of: (path) => received.filter((r) => r.path === path),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Every text Slack parses as mrkdwn in a message: each mrkdwn object's (plus the caller's `text`). */
export const mrkdwnTexts = (value: unknown): string[] => {
  if (!value || typeof value !== "object") return [];
  const object = value as { type?: string; text?: unknown };
  const own = object.type === "mrkdwn" && typeof object.text === "string" ? [object.text] : [];
  return [...own, ...Object.values(value).flatMap(mrkdwnTexts)];
};

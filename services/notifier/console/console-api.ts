// The web console for on-call, served by the notifier (no build step, no server of its own):
//   /console/                      the page (static files beside this one), / redirects to it
//   GET  /api/v1/console/alerts               firing alerts grouped as the routes group them
//   GET  /api/v1/console/alerts/:fingerprint  one alert: notification history, escalation state
//   GET  /api/v1/console/preview?matchers=…   the alerts a silence being written would match
//   GET  /api/v1/console/health               consumer groups with lag, dead letters by reason
//   GET  /api/v1/console/dead-letters/:p/:o   one dead letter, its record shown as text
//   POST /api/v1/console/dead-letters/:p/:o/replay   that letter back to its topic
// The page renders every value as text (never as HTML) and is served with a strict
// Content-Security-Policy; the API's authentication (token, or basic auth in a browser) covers
// all of it off loopback.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DeadLetter } from "../../../schemas/types.js";
import { replayRecord } from "../../chassis/dead-letter.js";
import type { OutputProducer } from "../../chassis/producer.js";
import { toApiMatchers, type ApiReply, type ApiRequest } from "../alertmanager-api.js";
import type { AlertView, Dispatcher } from "../dispatcher.js";
import { compileMatcherSet } from "../../chassis/label-matchers.js";
import { MatcherError, readMatchers } from "../matchers.js";
import type { NotificationLog } from "../stores.js";
import type { DeadLetterTail, GroupHealth } from "../pipeline-health.js";

export interface ConsoleDeps {
  dispatcher: () => Dispatcher | undefined;
  log: NotificationLog;
  /** The remediation decisions taken for an alert (the fleet budget's ledger). */
  remediation?: (fingerprint: string) => unknown[];
  letters: DeadLetterTail;
  deadLetterTopic: string;
  groups: (now: number) => Promise<GroupHealth[]>;
  producer: OutputProducer;
  now: () => number;
}

const here = dirname(fileURLToPath(import.meta.url));
const STATIC: Record<string, { file: string; type: string }> = {
  "/console/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/console/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/console/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};
export const CONSOLE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** A static file of the console, or undefined when the path is not one. */
export function consoleFile(path: string): { body: Buffer; type: string } | undefined {
  const found = STATIC[path === "/console" ? "/console/" : path];
  if (!found) return undefined;
  return { body: readFileSync(join(here, found.file)), type: found.type };
}

export const ownsConsolePath = (path: string) =>
  path === "/" || path === "/console" || path in STATIC;

function alertJson(view: AlertView) {
  const a = view.alert;
  return {
    fingerprint: a.fingerprint,
    rule: a.rule,
    severity: a.severity,
    status: a.status,
    source: a.source ?? "detector",
    labels: a.labels,
    annotations: { ...a.extraAnnotations, ...a.annotations },
    value: a.value,
    threshold: a.threshold,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
    generatorUrl: a.generatorUrl ?? null,
    receivers: view.receivers,
    silencedBy: view.silencedBy ?? null,
    inhibitedBy: view.inhibitedBy,
    mutedBy: view.mutedBy,
    ack: view.ack ?? null,
  };
}

/** A record's bytes as text for the page: UTF-8 when it is, else hex; cut to 16 KiB. */
function preview(bytes: Buffer | null) {
  if (bytes === null) return null;
  const limit = 16 * 1024;
  const cut = bytes.subarray(0, limit);
  let text: string;
  let encoding: "utf-8" | "hex";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(cut);
    encoding = "utf-8";
  } catch {
    text = cut.toString("hex");
    encoding = "hex";
  }
  return { encoding, text, bytes: bytes.length, truncated: bytes.length > limit };
}

function letterSummary(partition: number, offset: string, l: DeadLetter) {
  return {
    partition,
    offset,
    errorCode: l.errorCode,
    failedStage: l.failedStage,
    errorMessage: l.errorMessage.slice(0, 300),
    originalTopic: l.originalTopic,
    originalPartition: l.partition,
    originalOffset: l.offset,
    time: l.time,
    replayable: l.value !== null,
  };
}

export function consoleApi(deps: ConsoleDeps) {
  return async function handle(req: ApiRequest): Promise<ApiReply | undefined> {
    const { method, path, query } = req;
    if (!path.startsWith("/api/v1/console/")) return undefined;
    const dispatcher = deps.dispatcher();
    const now = deps.now();
    if (path === "/api/v1/console/alerts" && method === "GET") {
      const views = new Map((dispatcher?.view(now) ?? []).map((v) => [v.alert.fingerprint, v]));
      const groups = (dispatcher?.groupsView() ?? [])
        .map((g) => ({
          id: g.id,
          key: g.key,
          receiver: g.receiver,
          labels: g.labels,
          alerts: g.fingerprints
            .map((f) => views.get(f))
            .filter((v): v is AlertView => v?.alert.status === "firing")
            .map(alertJson),
        }))
        .filter((g) => g.alerts.length > 0);
      return { status: 200, body: { active: !!dispatcher, groups } };
    }
    const one = /^\/api\/v1\/console\/alerts\/([0-9a-f]{16})$/.exec(path);
    if (one && method === "GET") {
      const view = dispatcher?.view(now).find((v) => v.alert.fingerprint === one[1]);
      const history = deps.log.history(one[1]!).map((e) => {
        const step = /#escalation-(\d+)$/.exec(e.groupKey);
        return {
          receiver: e.receiver,
          at: e.at,
          told: e.firing.includes(one[1]!) ? "firing" : "resolved",
          ...(step && { escalationStep: Number(step[1]) }),
          alertsInNotification: e.firing.length + e.resolved.length,
        };
      });
      const remediation = deps.remediation?.(one[1]!) ?? [];
      if (!view && history.length === 0 && remediation.length === 0)
        return { status: 404, body: { error: `no alert ${one[1]} known to the active notifier` } };
      return {
        status: 200,
        body: {
          alert: view ? alertJson(view) : null,
          history,
          remediation,
          escalation: dispatcher?.escalationOf(one[1]!) ?? [],
        },
      };
    }
    if (path === "/api/v1/console/preview" && method === "GET") {
      const text = query.get("matchers") ?? "";
      const lines = text
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      if (lines.length === 0) return { status: 200, body: { matching: [], matchers: [] } };
      try {
        const parsed = readMatchers(lines);
        const match = compileMatcherSet(parsed);
        const matching = (dispatcher?.view(now) ?? [])
          .filter((v) => v.alert.status === "firing" && match(v.alert.labels))
          .map((v) => ({ fingerprint: v.alert.fingerprint, labels: v.alert.labels }));
        // As the API v2 takes them, so the page can post the silence as written.
        return { status: 200, body: { matching, matchers: toApiMatchers(parsed) } };
      } catch (error) {
        if (error instanceof MatcherError) return { status: 400, body: { error: error.message } };
        throw error;
      }
    }
    if (path === "/api/v1/console/health" && method === "GET") {
      let groups: GroupHealth[] = [];
      let groupsError: string | null = null;
      try {
        groups = await deps.groups(now);
      } catch (error) {
        groupsError = (error as Error).message;
      }
      return {
        status: 200,
        body: {
          groups,
          groupsError,
          deadLetters: {
            topic: deps.deadLetterTopic,
            total: deps.letters.total,
            byReason: deps.letters.byReason(),
            latest: deps.letters
              .list()
              .slice(0, 100)
              .map((e) => letterSummary(e.partition, e.offset, e.letter)),
          },
        },
      };
    }
    const letter = /^\/api\/v1\/console\/dead-letters\/(\d+)\/(\d+)(\/replay)?$/.exec(path);
    if (letter) {
      const entry = deps.letters.find(Number(letter[1]), letter[2]!);
      if (!entry)
        return { status: 404, body: { error: "no such dead letter among the latest kept" } };
      const l = entry.letter;
      if (letter[3] && method === "POST") {
        const record = replayRecord(l, {
          topic: deps.deadLetterTopic,
          partition: entry.partition,
          offset: entry.offset,
        });
        if (!record)
          return {
            status: 409,
            body: {
              error: `the letter holds its record by reference only: it is at ${l.originalTopic} partition ${l.partition} offset ${l.offset}`,
            },
          };
        await deps.producer.send([record]);
        return { status: 200, body: { replayedTo: record.topic } };
      }
      if (!letter[3] && method === "GET")
        return {
          status: 200,
          body: {
            ...letterSummary(entry.partition, entry.offset, l),
            errorMessage: l.errorMessage,
            key: preview(l.key),
            value: preview(l.value),
            headers: Object.fromEntries(
              Object.entries(l.headers).map(([k, v]) => [k, preview(v)?.text ?? ""]),
            ),
            omitted: l.omitted ?? {},
          },
        };
    }
    return undefined;
  };
}

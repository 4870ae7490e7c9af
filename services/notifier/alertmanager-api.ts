// Alertmanager's API v2 (api/v2/openapi.yaml), so Prometheus, vmalert, amtool and Karma talk to
// Vigil's notifier as to an Alertmanager:
//   POST   /api/v2/alerts             alerts in (Prometheus's notifier), onto the alert topic
//   GET    /api/v2/alerts             filter, active, silenced, inhibited, unprocessed, receiver
//   GET    /api/v2/alerts/groups      the same, as the routes group them
//   GET    /api/v2/silences           filter;  POST /api/v2/silences (create, or update by id)
//   GET    /api/v2/silence/{id};      DELETE /api/v2/silence/{id} (expire)
//   GET    /api/v2/status, /api/v2/receivers
// Posted alerts enter the same path as the detector's: they are written to the alert topic and
// its compacted state (durable before 200), and the active instance groups, silences, inhibits,
// routes and logs them like any other — one page per incident whichever replica took the post.
import { parseMatchers, formatMatcher, type Matcher } from "../chassis/label-matchers.js";
import { labelRegex } from "../chassis/label-regex.js";
import { encode } from "../../schemas/codec.js";
import type { Alert, Silence } from "../../schemas/types.js";
import type { OutputProducer } from "../chassis/producer.js";
import { addSilence, expireSilence } from "./commands.js";
import type { AlertView, Dispatcher } from "./dispatcher.js";
import { compileMatchers, MatcherError, readMatchers } from "./matchers.js";
import { SilenceError, type Silences } from "./stores.js";

export interface AlertmanagerApiDeps {
  producer: OutputProducer;
  topics: { alerts: string; alertsState: string; silences: string };
  silences: Silences;
  dispatcher: () => Dispatcher | undefined;
  /** The receivers the configuration names. */
  receivers: () => string[];
  /** An alert posted without endsAt resolves this long after its last post. */
  resolveTimeout: () => number;
  /** The configuration as given (alertmanager.yml or Vigil's YAML), for GET /status. */
  original: () => string;
  startedAt: number;
  now: () => number;
}

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: () => Promise<unknown>;
}

export interface ApiReply {
  status: number;
  body: unknown;
}

const MAX_ALERTS_PER_POST = 10_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Alertmanager's fingerprint of a label set: FNV-1a 64 over sorted name, 0xff, value, 0xff. */
export function labelsFingerprint(labels: Record<string, string>): string {
  let hash = 0xcbf29ce484222325n;
  const add = (bytes: Uint8Array) => {
    for (const b of bytes) hash = ((hash ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  };
  const encoder = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    add(encoder.encode(name));
    add(Uint8Array.of(0xff));
    add(encoder.encode(labels[name]!));
    add(Uint8Array.of(0xff));
  }
  return hash.toString(16).padStart(16, "0");
}

/** Alertmanager has no severity; Vigil's lifecycle (escalation) reads it from the label. */
function severityOf(labels: Record<string, string>): Alert["severity"] {
  const s = (labels.severity ?? "").toLowerCase();
  if (["critical", "page", "error", "high", "emergency", "fatal"].includes(s)) return "critical";
  if (["warning", "warn", "major", "medium"].includes(s)) return "major";
  return "minor";
}

function time(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const ms = typeof value === "string" ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw new SilenceError(`${field}: expected an RFC 3339 time`);
  // Go's zero time means "not set".
  return ms <= Date.UTC(1, 0, 2) ? undefined : ms;
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new SilenceError(`${field}: expected an object of strings`);
  for (const [k, v] of Object.entries(value as object))
    if (typeof v !== "string") throw new SilenceError(`${field}.${k}: expected a string`);
  return value as Record<string, string>;
}

/** A postable alert (Prometheus's notifier payload) as a Vigil alert event. */
export function alertFromPost(
  given: unknown,
  index: number,
  now: number,
  resolveTimeout: number,
): Alert {
  const at = `alerts[${index}]`;
  if (typeof given !== "object" || given === null || Array.isArray(given))
    throw new SilenceError(`${at}: expected an alert object`);
  const a = given as Record<string, unknown>;
  const labels = stringMap(a.labels, `${at}.labels`);
  if (Object.keys(labels).length === 0) throw new SilenceError(`${at}.labels: at least one label`);
  for (const name of Object.keys(labels))
    if (name === "") throw new SilenceError(`${at}.labels: an empty label name`);
  const { summary, description, runbook_url, ...extra } = stringMap(
    a.annotations,
    `${at}.annotations`,
  );
  const startsAt = time(a.startsAt, `${at}.startsAt`) ?? now;
  const endsAt = time(a.endsAt, `${at}.endsAt`) ?? now + resolveTimeout;
  if (endsAt < startsAt) throw new SilenceError(`${at}.endsAt: before startsAt`);
  const resolved = endsAt <= now;
  return {
    fingerprint: labelsFingerprint(labels),
    rule: labels.alertname ?? "",
    severity: severityOf(labels),
    status: resolved ? "resolved" : "firing",
    labels,
    annotations: {
      summary: summary ?? extra.message ?? labels.alertname ?? "",
      description: description ?? "",
      runbook_url: runbook_url ?? extra.runbook ?? null,
    },
    startsAt,
    endsAt,
    value: 0,
    threshold: null,
    resend: false,
    flapping: false,
    sentAt: now,
    extraAnnotations: extra,
    generatorUrl: typeof a.generatorURL === "string" ? a.generatorURL : null,
    source: "api",
  };
}

/** A silence's matchers as the API writes them. */
export function apiMatchers(text: string) {
  return toApiMatchers(parseMatchers(text));
}

/** Matchers in the API's shape: name, value, isRegex, isEqual. */
export function toApiMatchers(matchers: Matcher[]) {
  return matchers.map((m) => ({
    name: m.label,
    value: m.value,
    isRegex: m.op === "=~" || m.op === "!~",
    isEqual: m.op === "=" || m.op === "=~",
  }));
}

function matchersFromApi(given: unknown): string {
  if (!Array.isArray(given) || given.length === 0)
    throw new SilenceError("matchers: give at least one matcher");
  const out: Matcher[] = given.map((m: unknown, i) => {
    const x = (m ?? {}) as Record<string, unknown>;
    if (typeof x.name !== "string" || x.name === "")
      throw new SilenceError(`matchers[${i}].name: expected a label name`);
    if (typeof x.value !== "string")
      throw new SilenceError(`matchers[${i}].value: expected a string`);
    const regex = x.isRegex === true;
    const equal = x.isEqual !== false;
    const op = regex ? (equal ? "=~" : "!~") : equal ? "=" : "!=";
    if (regex)
      try {
        labelRegex(x.value);
      } catch (error) {
        throw new SilenceError(`matchers[${i}].value: invalid regex: ${(error as Error).message}`);
      }
    return { label: x.name, op, value: x.value };
  });
  return out.map(formatMatcher).join(", ");
}

function silenceState(s: Silence, now: number): "active" | "pending" | "expired" {
  return s.endsAt <= now ? "expired" : s.startsAt > now ? "pending" : "active";
}

export function gettableSilence(s: Silence, now: number) {
  return {
    id: s.id,
    status: { state: silenceState(s, now) },
    updatedAt: iso(s.updatedAt),
    matchers: apiMatchers(s.matchers),
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    createdBy: s.createdBy,
    comment: s.comment,
  };
}

export function gettableAlert(view: AlertView) {
  const a = view.alert;
  const suppressed = !!view.silencedBy || view.inhibitedBy.length > 0 || view.mutedBy.length > 0;
  return {
    labels: a.labels,
    annotations: {
      ...a.extraAnnotations,
      ...(a.annotations.summary && { summary: a.annotations.summary }),
      ...(a.annotations.description && { description: a.annotations.description }),
      ...(a.annotations.runbook_url && { runbook_url: a.annotations.runbook_url }),
    },
    startsAt: iso(a.startsAt),
    endsAt: iso(a.endsAt ?? a.startsAt),
    updatedAt: iso(a.sentAt || a.startsAt),
    fingerprint: a.fingerprint,
    ...(a.generatorUrl && { generatorURL: a.generatorUrl }),
    receivers: view.receivers.map((name) => ({ name })),
    status: {
      state: suppressed ? "suppressed" : view.receivers.length ? "active" : "unprocessed",
      silencedBy: view.silencedBy ? [view.silencedBy] : [],
      inhibitedBy: view.inhibitedBy,
      mutedBy: view.mutedBy,
    },
  };
}

const flag = (q: URLSearchParams, name: string) => q.get(name) !== "false";

/** The alert views the query asks for (Alertmanager's filters). */
function filtered(views: AlertView[], q: URLSearchParams): AlertView[] {
  let match: (labels: Record<string, string>) => boolean;
  try {
    match = compileMatchers(q.getAll("filter"));
  } catch (error) {
    if (error instanceof MatcherError) throw new SilenceError(`filter: ${error.message}`);
    throw error;
  }
  const receiver = q.get("receiver");
  let receiverMatch: (name: string) => boolean = () => true;
  if (receiver) {
    try {
      const re = labelRegex(receiver);
      receiverMatch = (name) => re.test(name);
    } catch (error) {
      throw new SilenceError(`receiver: invalid regex: ${(error as Error).message}`);
    }
  }
  return views.filter((v) => {
    if (v.alert.status !== "firing" || !match(v.alert.labels)) return false;
    if (receiver && !v.receivers.some(receiverMatch)) return false;
    const silenced = !!v.silencedBy;
    const inhibited = v.inhibitedBy.length > 0;
    const muted = v.mutedBy.length > 0;
    const unprocessed = v.receivers.length === 0;
    if (!flag(q, "silenced") && silenced) return false;
    if (!flag(q, "inhibited") && inhibited) return false;
    if (!flag(q, "muted") && muted) return false;
    if (!flag(q, "unprocessed") && unprocessed) return false;
    if (!flag(q, "active") && !silenced && !inhibited && !muted && !unprocessed) return false;
    return true;
  });
}

export function alertmanagerApi(deps: AlertmanagerApiDeps) {
  async function postAlerts(body: unknown): Promise<ApiReply> {
    if (!Array.isArray(body)) throw new SilenceError("body: expected a list of alerts");
    if (body.length > MAX_ALERTS_PER_POST)
      throw new SilenceError(`body: at most ${MAX_ALERTS_PER_POST} alerts per request`);
    const now = deps.now();
    const alerts = body.map((a, i) => alertFromPost(a, i, now, deps.resolveTimeout()));
    const records = alerts.flatMap((a) => {
      const value = encode("alert", a);
      return [
        { topic: deps.topics.alerts, key: a.fingerprint, value },
        { topic: deps.topics.alertsState, key: a.fingerprint, value },
      ];
    });
    await deps.producer.send(records);
    return { status: 200, body: "" };
  }

  async function postSilence(body: unknown): Promise<ApiReply> {
    const b = (body ?? {}) as Record<string, unknown>;
    const now = deps.now();
    const matchers = matchersFromApi(b.matchers);
    const startsAt = time(b.startsAt, "startsAt") ?? now;
    const endsAt = time(b.endsAt, "endsAt");
    if (endsAt === undefined) throw new SilenceError("endsAt: required");
    const input = {
      matchers,
      startsAt: Math.max(startsAt, now),
      endsAt,
      createdBy: String(b.createdBy ?? ""),
      comment: String(b.comment ?? ""),
    };
    if (typeof b.id === "string" && b.id !== "") {
      const known = deps.silences.get(b.id);
      if (!known) return { status: 404, body: `silence ${b.id} not found` };
      // As Alertmanager: a silence that has not ended is updated in place when only its times,
      // author or comment change; otherwise the old one is expired and a new one made.
      if (silenceState(known, now) !== "expired" && known.matchers === matchers) {
        const updated = await addSilence(
          deps.producer,
          deps.topics.silences,
          { ...input, startsAt: Math.max(known.startsAt, Math.min(startsAt, now)) },
          now,
          known.id,
        );
        deps.silences.apply(updated);
        return { status: 200, body: { silenceID: updated.id } };
      }
      if (silenceState(known, now) !== "expired")
        deps.silences.apply(await expireSilence(deps.producer, deps.topics.silences, known, now));
    }
    const silence = await addSilence(deps.producer, deps.topics.silences, input, now);
    deps.silences.apply(silence);
    return { status: 200, body: { silenceID: silence.id } };
  }

  function silencesFiltered(q: URLSearchParams) {
    const now = deps.now();
    const filters = q.getAll("filter");
    let wanted: Matcher[] = [];
    try {
      wanted = filters.length ? readMatchers(filters) : [];
    } catch (error) {
      if (error instanceof MatcherError) throw new SilenceError(`filter: ${error.message}`);
      throw error;
    }
    const order = { active: 0, pending: 1, expired: 2 };
    return deps.silences
      .list()
      .filter((s) => {
        const own = parseMatchers(s.matchers);
        // As Alertmanager: a filter selects silences having a matcher with that name and value.
        return wanted.every((w) =>
          own.some((m) =>
            w.op === "=" || w.op === "!="
              ? m.label === w.label && (m.value === w.value) === (w.op === "=")
              : m.label === w.label && labelRegex(w.value).test(m.value) === (w.op === "=~"),
          ),
        );
      })
      .map((s) => gettableSilence(s, now))
      .sort((a, b) => order[a.status.state] - order[b.status.state]);
  }

  return async function handle(req: ApiRequest): Promise<ApiReply | undefined> {
    const { method, path, query } = req;
    const dispatcher = deps.dispatcher();
    // In Alertmanager's order, so that every replica (and a standby's view) answers alike.
    if (path === "/api/v2/alerts" && method === "POST") return postAlerts(await req.body());
    if (path === "/api/v2/alerts" && method === "GET")
      return {
        status: 200,
        body: filtered(dispatcher?.view(deps.now()) ?? [], query)
          .map(gettableAlert)
          .sort((a, b) =>
            a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0,
          ),
      };
    if (path === "/api/v2/alerts/groups" && method === "GET") {
      const views = new Map(
        filtered(dispatcher?.view(deps.now()) ?? [], query).map((v) => [v.alert.fingerprint, v]),
      );
      const groups = (dispatcher?.groupsView() ?? [])
        .map((g) => ({
          labels: g.labels,
          receiver: { name: g.receiver },
          alerts: g.fingerprints
            .map((f) => views.get(f))
            .filter((v): v is AlertView => v !== undefined)
            .sort((a, b) => alertOrder(a.alert.labels, b.alert.labels))
            .map(gettableAlert),
        }))
        .filter((g) => g.alerts.length > 0)
        .sort(
          (a, b) =>
            labelsBefore(a.labels, b.labels) ||
            (a.receiver.name < b.receiver.name ? -1 : a.receiver.name > b.receiver.name ? 1 : 0),
        );
      return { status: 200, body: groups };
    }
    if (path === "/api/v2/silences" && method === "GET")
      return { status: 200, body: silencesFiltered(query) };
    if (path === "/api/v2/silences" && method === "POST") return postSilence(await req.body());
    const one = /^\/api\/v2\/silence\/([\w-]+)$/.exec(path);
    if (one) {
      const silence = deps.silences.get(one[1]!);
      if (!silence) return { status: 404, body: `silence ${one[1]} not found` };
      if (method === "GET") return { status: 200, body: gettableSilence(silence, deps.now()) };
      if (method === "DELETE") {
        if (silenceState(silence, deps.now()) !== "expired")
          deps.silences.apply(
            await expireSilence(deps.producer, deps.topics.silences, silence, deps.now()),
          );
        return { status: 200, body: "" };
      }
    }
    if (path === "/api/v2/status" && method === "GET")
      return {
        status: 200,
        body: {
          cluster: { name: "vigil", status: "ready", peers: [] },
          versionInfo: {
            // Karma checks the version against ">=0.17.0"; a pre-release suffix would fail that.
            version: "0.28.1",
            revision: "vigil-notifier",
            branch: "main",
            buildUser: "vigil",
            buildDate: "",
            goVersion: `node ${process.version}`,
          },
          config: { original: deps.original() },
          uptime: iso(deps.startedAt),
        },
      };
    if (path === "/api/v2/receivers" && method === "GET")
      return { status: 200, body: deps.receivers().map((name) => ({ name })) };
    return undefined;
  };
}

/** Alertmanager's model.LabelSet.Before: by sorted label names and values, a prefix first. */
function labelsBefore(a: Record<string, string>, b: Record<string, string>): number {
  const [x, y] = [Object.keys(a).sort(), Object.keys(b).sort()];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    const [u, v] = [a[x[i]!]!, b[y[i]!]!];
    if (u !== v) return u < v ? -1 : 1;
  }
  return x.length - y.length;
}

/** Alertmanager's types.AlertSlice order: by job, then instance (present first), then labels. */
function alertOrder(a: Record<string, string>, b: Record<string, string>): number {
  for (const key of ["job", "instance"]) {
    const [u, v] = [a[key], b[key]];
    if (u === undefined && v === undefined) continue;
    if (u === undefined) return 1;
    if (v === undefined) return -1;
    if (u !== v) return u < v ? -1 : 1;
  }
  return labelsBefore(a, b);
}

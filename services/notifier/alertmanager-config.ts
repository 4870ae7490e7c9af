// An alertmanager.yml, as it is, read into Vigil's alerting model (the same one Vigil's own
// notifier YAML compiles to, checked by the same schema):
//   global          resolve_timeout, smtp_* (from, smarthost, auth, require_tls), slack_api_url(_file),
//                   pagerduty_url — the defaults Alertmanager gives each integration
//   route           receiver, group_by, group_wait/interval, repeat_interval, continue, match,
//                   match_re, matchers (Alertmanager's full matcher syntax), mute/active intervals
//   receivers       email_configs, slack_configs, pagerduty_configs, webhook_configs (*_file secrets)
//   inhibit_rules   old (source_match, source_match_re) and new (source_matchers) forms
//   time_intervals  and the older mute_time_intervals
//   templates       accepted while its globs match no file (Vigil renders its own messages)
// Anything else — other integrations, custom message templates, http_config — is refused here,
// naming the key, rather than silently ignored. Inline secrets (Alertmanager's way) stay in memory.
import { existsSync, readdirSync } from "node:fs";
import { basename, dirname } from "node:path";
import { formatMatcher } from "../chassis/label-matchers.js";
import { inlineSecret, type SecretRef } from "../chassis/settings.js";

export class AlertmanagerConfigError extends Error {
  override name = "AlertmanagerConfigError";
  readonly code = "VGL_CONFIG_INVALID";
}

type Node = Record<string, unknown>;

/** Go's model.Duration as Prometheus and Alertmanager write it: 1h30m, 5m, 1d, 1w, 250ms. */
export function goDuration(text: string): number | undefined {
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(
    text,
  );
  if (!m || text === "") return undefined;
  const units = [31_536_000_000, 604_800_000, 86_400_000, 3_600_000, 60_000, 1_000, 1];
  return units.reduce((sum, unit, i) => sum + Number(m[i + 1] ?? 0) * unit, 0);
}

// Alertmanager's own defaults for what its integrations send when resolved.
const SEND_RESOLVED = { email: false, slack: false, pagerduty: true, webhook: true };
// The templates Alertmanager uses by default: asking for them is asking for Vigil's own message.
const DEFAULT_TEMPLATE = /^\s*\{\{\s*template\s+"[\w.]+\.default\.[\w.]+"\s+\.\s*\}\}\s*$/;

/** Whether a template glob such as /etc/alertmanager/template/*.tmpl names any file. */
function globMatches(pattern: string): boolean {
  const dir = dirname(pattern);
  if (/[*?[]/.test(dir)) return true; // wildcards in directories: assume it does
  if (!existsSync(dir)) return false;
  const name = new RegExp(
    `^${basename(pattern)
      .replace(/[.+^${}()|\\]/g, "\\$&")
      .replace(/\*/g, "[^/]*")
      .replace(/\?/g, "[^/]")}$`,
  );
  return readdirSync(dir).some((f) => name.test(f));
}

export interface FromAlertmanager {
  /** The `alerting` section of the notifier's settings. */
  alerting: Node;
  /** How long an API alert without endsAt stays firing without being sent again. */
  resolveTimeout: number;
}

export function fromAlertmanager(doc: unknown, origin = "alertmanager.yml"): FromAlertmanager {
  const problems: string[] = [];
  const problem = (path: string, message: string) => problems.push(`${path}: ${message}`);
  const obj = (value: unknown, path: string): Node => {
    if (value === undefined || value === null) return {};
    if (typeof value !== "object" || Array.isArray(value)) {
      problem(path, "expected a mapping");
      return {};
    }
    return value as Node;
  };
  const list = (value: unknown, path: string): unknown[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      problem(path, "expected a list");
      return [];
    }
    return value;
  };
  const only = (node: Node, path: string, known: string[], why = "not supported by Vigil") => {
    for (const key of Object.keys(node))
      if (!known.includes(key)) problem(path ? `${path}.${key}` : key, why);
  };
  const str = (value: unknown, path: string): string | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string" && typeof value !== "number") {
      problem(path, "expected a string");
      return undefined;
    }
    return String(value);
  };
  const dur = (value: unknown, path: string): number | undefined => {
    const text = str(value, path);
    if (text === undefined) return undefined;
    const ms = goDuration(text);
    if (ms === undefined)
      problem(path, `expected a duration like 5m or 1h30m, got ${JSON.stringify(text)}`);
    return ms;
  };
  /** A secret given inline or as a `<key>_file`; both at once is an error, as in Alertmanager. */
  const secret = (
    node: Node,
    key: string,
    path: string,
    fallback?: SecretRef,
  ): SecretRef | undefined => {
    const inline = str(node[key], `${path}.${key}`);
    const file = str(node[`${key}_file`], `${path}.${key}_file`);
    if (inline !== undefined && file !== undefined)
      problem(`${path}.${key}`, `give ${key} or ${key}_file, not both`);
    if (file !== undefined) return { file };
    if (inline !== undefined) return inlineSecret(inline);
    return fallback;
  };
  const templated = (node: Node, keys: string[], path: string) => {
    for (const key of keys) {
      const value = node[key];
      if (value !== undefined && !(typeof value === "string" && DEFAULT_TEMPLATE.test(value)))
        problem(
          `${path}.${key}`,
          "custom message templates are not supported: Vigil renders its own message",
        );
    }
  };
  const matcherList = (node: Node, prefix: string, path: string): string[] => {
    const out: string[] = [];
    for (const [label, value] of Object.entries(
      obj(node[`${prefix}match`], `${path}.${prefix}match`),
    ))
      out.push(formatMatcher({ label, op: "=", value: String(value) }));
    for (const [label, value] of Object.entries(
      obj(node[`${prefix}match_re`], `${path}.${prefix}match_re`),
    ))
      out.push(formatMatcher({ label, op: "=~", value: String(value) }));
    for (const [i, m] of list(node[`${prefix}matchers`], `${path}.${prefix}matchers`).entries()) {
      const text = str(m, `${path}.${prefix}matchers[${i}]`);
      if (text !== undefined) out.push(text);
    }
    return out;
  };

  const root = obj(doc, "(root)");
  only(root, "", [
    "global",
    "route",
    "receivers",
    "inhibit_rules",
    "time_intervals",
    "mute_time_intervals",
    "templates",
  ]);

  // global: defaults for the integrations
  const global = obj(root.global, "global");
  only(global, "global", [
    "resolve_timeout",
    "smtp_from",
    "smtp_smarthost",
    "smtp_auth_username",
    "smtp_auth_password",
    "smtp_auth_password_file",
    "smtp_require_tls",
    "slack_api_url",
    "slack_api_url_file",
    "pagerduty_url",
  ]);
  const resolveTimeout = dur(global.resolve_timeout, "global.resolve_timeout") ?? 300_000;
  const smtpPassword = secret(global, "smtp_auth_password", "global");
  const slackUrl = secret(global, "slack_api_url", "global");

  for (const [i, pattern] of list(root.templates, "templates").entries()) {
    const glob = str(pattern, `templates[${i}]`);
    if (glob !== undefined && globMatches(glob))
      problem(
        `templates[${i}]`,
        `${glob} matches template files; Vigil renders its own messages and does not run Go templates`,
      );
  }

  // receivers
  const receivers = list(root.receivers, "receivers").map((given, i) => {
    const path = `receivers[${i}]`;
    const r = obj(given, path);
    only(
      r,
      path,
      ["name", "email_configs", "slack_configs", "pagerduty_configs", "webhook_configs"],
      "integration not supported by Vigil (email, slack, pagerduty and webhook are)",
    );
    const out: Node = { name: str(r.name, `${path}.name`) ?? "" };
    const configs = (key: string) =>
      list(r[key], `${path}.${key}`).map(
        (c, j) => [obj(c, `${path}.${key}[${j}]`), `${path}.${key}[${j}]`] as const,
      );
    const email = configs("email_configs").map(([c, p]) => {
      only(c, p, [
        "to",
        "from",
        "smarthost",
        "auth_username",
        "auth_password",
        "auth_password_file",
        "require_tls",
        "send_resolved",
        "html",
        "text",
        "headers",
      ]);
      templated(c, ["html", "text"], p);
      if (c.headers !== undefined)
        problem(`${p}.headers`, "custom headers are not supported: Vigil writes its own subject");
      const password = secret(c, "auth_password", p, smtpPassword);
      const username =
        str(c.auth_username, `${p}.auth_username`) ??
        str(global.smtp_auth_username, "global.smtp_auth_username");
      return {
        to: (str(c.to, `${p}.to`) ?? "")
          .split(",")
          .map((a) => a.trim())
          .filter(Boolean),
        from: str(c.from, `${p}.from`) ?? str(global.smtp_from, "global.smtp_from"),
        smarthost:
          str(c.smarthost, `${p}.smarthost`) ?? str(global.smtp_smarthost, "global.smtp_smarthost"),
        ...(username !== undefined && { auth_username: username }),
        ...(password && { auth_password: password }),
        require_tls: c.require_tls ?? global.smtp_require_tls ?? true,
        send_resolved: c.send_resolved ?? SEND_RESOLVED.email,
      };
    });
    const slack = configs("slack_configs").map(([c, p]) => {
      only(c, p, [
        "api_url",
        "api_url_file",
        "channel",
        "send_resolved",
        "title",
        "text",
        "pretext",
        "fallback",
      ]);
      templated(c, ["title", "text", "pretext", "fallback"], p);
      const url = secret(c, "api_url", p, slackUrl);
      if (!url) problem(`${p}.api_url`, "no api_url here and no global.slack_api_url");
      return {
        webhook_url: url,
        ...(c.channel !== undefined && { channel: str(c.channel, `${p}.channel`) }),
        send_resolved: c.send_resolved ?? SEND_RESOLVED.slack,
      };
    });
    const pagerduty = configs("pagerduty_configs").map(([c, p]) => {
      only(c, p, [
        "routing_key",
        "routing_key_file",
        "service_key",
        "service_key_file",
        "url",
        "send_resolved",
        "description",
      ]);
      templated(c, ["description"], p);
      const key = secret(c, "routing_key", p) ?? secret(c, "service_key", p);
      if (!key)
        problem(`${p}.routing_key`, "give routing_key or service_key (or their _file forms)");
      const url = str(c.url, `${p}.url`) ?? str(global.pagerduty_url, "global.pagerduty_url");
      return {
        routing_key: key,
        // Both are the whole Events v2 URL (Alertmanager's default: …/v2/enqueue).
        ...(url !== undefined && { url }),
        send_resolved: c.send_resolved ?? SEND_RESOLVED.pagerduty,
      };
    });
    const webhook = configs("webhook_configs").map(([c, p]) => {
      only(c, p, ["url", "url_file", "send_resolved", "max_alerts"]);
      const url = secret(c, "url", p);
      if (!url) problem(`${p}.url`, "give url or url_file");
      return {
        url,
        ...(c.max_alerts !== undefined && { max_alerts: c.max_alerts }),
        send_resolved: c.send_resolved ?? SEND_RESOLVED.webhook,
      };
    });
    for (const [kind, given] of Object.entries({ email, slack, pagerduty, webhook }))
      if (given.length > 0) out[kind] = given;
    return out;
  });

  // route tree
  const route = (given: unknown, path: string): Node => {
    const r = obj(given, path);
    only(r, path, [
      "receiver",
      "group_by",
      "group_wait",
      "group_interval",
      "repeat_interval",
      "continue",
      "match",
      "match_re",
      "matchers",
      "routes",
      "mute_time_intervals",
      "active_time_intervals",
    ]);
    const out: Node = {};
    const matchers = matcherList(r, "", path);
    if (matchers.length) out.matchers = matchers;
    if (r.receiver !== undefined) out.receiver = str(r.receiver, `${path}.receiver`);
    if (r.group_by !== undefined) out.group_by = list(r.group_by, `${path}.group_by`).map(String);
    for (const key of ["group_wait", "group_interval", "repeat_interval"] as const)
      if (r[key] !== undefined) out[key] = dur(r[key], `${path}.${key}`);
    if (r.continue !== undefined) out.continue = r.continue;
    for (const key of ["mute_time_intervals", "active_time_intervals"] as const)
      if (r[key] !== undefined) out[key] = list(r[key], `${path}.${key}`).map(String);
    if (r.routes !== undefined)
      out.routes = list(r.routes, `${path}.routes`).map((c, i) => route(c, `${path}.routes[${i}]`));
    return out;
  };
  const tree = route(root.route, "route");
  if (root.route === undefined) problem("route", "a root route is required");

  const inhibitRules = list(root.inhibit_rules, "inhibit_rules").map((given, i) => {
    const path = `inhibit_rules[${i}]`;
    const r = obj(given, path);
    only(r, path, [
      "source_match",
      "source_match_re",
      "source_matchers",
      "target_match",
      "target_match_re",
      "target_matchers",
      "equal",
    ]);
    return {
      source_matchers: matcherList(r, "source_", path),
      target_matchers: matcherList(r, "target_", path),
      equal: list(r.equal, `${path}.equal`).map(String),
    };
  });

  // Both lists have Vigil's shape already; the alerting schema checks every field.
  const intervals = [
    ...list(root.time_intervals, "time_intervals"),
    ...list(root.mute_time_intervals, "mute_time_intervals"),
  ];

  if (problems.length > 0) throw new AlertmanagerConfigError(`${origin}: ${problems.join("; ")}`);
  return {
    alerting: {
      route: tree,
      receivers,
      inhibit_rules: inhibitRules,
      time_intervals: intervals,
    },
    resolveTimeout,
  };
}

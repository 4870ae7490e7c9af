// Configuration of the notifier. The routing part reads like Alertmanager's configuration — route
// tree, group_by/group_wait/group_interval/repeat_interval, continue, matchers, time intervals,
// inhibit_rules — plus silences, acknowledgement and escalation policies, and the receivers.
// Everything is checked at start-up; secrets (webhook URLs, routing keys, SMTP passwords) are
// references to the environment or a file, never inline and never logged.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { AlertmanagerConfigError, fromAlertmanager } from "./alertmanager-config.js";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { baseSettings, offLoopbackWithoutAuth, secretRef } from "../chassis/settings.js";
import { matcherProblem } from "./matchers.js";
import { RECEIVER_KINDS } from "./receivers/registry.js";

const matchers = z
  .array(z.string())
  .default([])
  .superRefine((list, ctx) => {
    const problem = matcherProblem(list);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export interface RouteConfig {
  receiver?: string | undefined;
  matchers: string[];
  continue: boolean;
  group_by?: string[] | undefined;
  group_wait?: number | undefined;
  group_interval?: number | undefined;
  repeat_interval?: number | undefined;
  mute_time_intervals: string[];
  active_time_intervals: string[];
  escalation?: string | undefined;
  routes: RouteConfig[];
}

const route: z.ZodType<RouteConfig, unknown> = z.lazy(() =>
  z.strictObject({
    receiver: z.string().optional(),
    matchers,
    continue: z.boolean().default(false),
    /** Labels an alert group is formed by; ["..."] groups by every label. Inherited. */
    group_by: z.array(z.string()).optional(),
    group_wait: duration.optional(),
    group_interval: duration.optional(),
    repeat_interval: duration.optional(),
    mute_time_intervals: z.array(z.string()).default([]),
    active_time_intervals: z.array(z.string()).default([]),
    /** Escalation policy for this route's alerts that nobody acknowledges. */
    escalation: z.string().optional(),
    routes: z.array(route).default([]),
  }),
);

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected a time like "09:00"');

const WEEKDAY = "(sunday|monday|tuesday|wednesday|thursday|friday|saturday)";
const MONTH =
  "(january|february|march|april|may|june|july|august|september|october|november|december|[1-9]|1[0-2])";
/** A value or an inclusive range `a:b`, as Alertmanager writes them. */
const ranged = (one: string, message: string) =>
  z.string().regex(new RegExp(`^${one}(:${one})?$`, "i"), message);

export const timeIntervalSchema = z.strictObject({
  name: z.string().min(1),
  time_intervals: z
    .array(
      z.strictObject({
        /** "monday", or a range "monday:friday". */
        weekdays: z
          .array(ranged(WEEKDAY, 'expected a weekday or a range like "monday:friday"'))
          .optional(),
        times: z.array(z.strictObject({ start_time: clock, end_time: clock })).optional(),
        /** 1–31, or from the month's end -1…-31; ranges "1:5", "-3:-1". */
        days_of_month: z
          .array(
            ranged("-?([1-9]|[12]\\d|3[01])", 'expected a day like "1", "-1" or a range "1:7"'),
          )
          .optional(),
        months: z
          .array(ranged(MONTH, 'expected a month like "may", "5" or a range "1:3"'))
          .optional(),
        years: z
          .array(ranged("\\d{4}", 'expected a year like "2026" or a range "2026:2027"'))
          .optional(),
        /** IANA time zone the fields are in; UTC by default. */
        location: z
          .string()
          .default("UTC")
          .refine(
            (zone) => {
              try {
                new Intl.DateTimeFormat("en-US", { timeZone: zone === "Local" ? "UTC" : zone });
                return true;
              } catch {
                return false;
              }
            },
            { message: "expected an IANA time zone such as Europe/Berlin" },
          ),
      }),
    )
    .min(1),
});

/**
 * A receiver: a name and its integrations — zero (Alertmanager's "null" receiver: alerts routed
 * there are dropped), one (`slack: {...}`), or several (`email: [...]`, `pagerduty: {...}` side
 * by side, as an Alertmanager receiver with several *_configs). Each integration is told about a
 * group on its own, with its own notification log entry; `send_resolved: false` keeps resolutions
 * from it.
 */
const receiverSchema = z
  .looseObject({ name: z.string().min(1) })
  .superRefine((receiver, ctx) => {
    for (const kind of Object.keys(receiver).filter((k) => k !== "name")) {
      const spec = RECEIVER_KINDS[kind];
      if (!spec) {
        ctx.addIssue({
          code: "custom",
          path: [kind],
          message: `unknown receiver kind ${kind} (known: ${Object.keys(RECEIVER_KINDS).join(", ")})`,
        });
        continue;
      }
      const given = receiver[kind];
      const list = Array.isArray(given) ? given : [given];
      list.forEach((config, i) => {
        const path = Array.isArray(given) ? [kind, i] : [kind];
        const { send_resolved: sendResolved, ...rest } = (config ?? {}) as Record<string, unknown>;
        if (sendResolved !== undefined && typeof sendResolved !== "boolean")
          ctx.addIssue({
            code: "custom",
            path: [...path, "send_resolved"],
            message: "expected true or false",
          });
        const parsed = spec.config.safeParse(rest);
        if (!parsed.success)
          for (const issue of parsed.error.issues)
            ctx.addIssue({
              code: "custom",
              path: [...path, ...(issue.path as PropertyKey[])],
              message:
                issue.code === "unrecognized_keys"
                  ? `unknown key(s): ${issue.keys.join(", ")}`
                  : issue.message,
            });
      });
    }
  })
  .transform((receiver) => {
    const given = Object.keys(receiver)
      .filter((k) => k !== "name")
      .flatMap((kind) => {
        const value = receiver[kind];
        return (Array.isArray(value) ? value : [value]).map((config) => ({
          kind,
          config: config as Record<string, unknown>,
        }));
      });
    return {
      name: receiver.name,
      integrations: given.map(({ kind, config }, i) => {
        const { send_resolved: sendResolved, ...rest } = config ?? {};
        return {
          /** The notification log and metrics know an integration by this. */
          id: given.length === 1 ? receiver.name : `${receiver.name}/${kind}/${i}`,
          kind,
          config: RECEIVER_KINDS[kind]!.config.parse(rest) as unknown,
          sendResolved: (sendResolved as boolean | undefined) ?? true,
        };
      }),
    };
  });

export const deliverySchema = z.strictObject({
  /** One attempt's time limit. */
  timeout: duration.default(10_000),
  initialBackoff: duration.default(1_000),
  maxBackoff: duration.default(30_000),
  /** How long a notification is retried before it goes to the dead-letter topic. */
  retryFor: duration.default(300_000),
  /** Notifications per receiver per `per` at most; beyond, they wait their turn. */
  rateLimit: z
    .strictObject({ max: z.number().int().min(1), per: duration })
    .default({ max: 60, per: 60_000 }),
});

export const alertingSchema = z
  .strictObject({
    route: route,
    receivers: z.array(receiverSchema).min(1),
    inhibit_rules: z
      .array(
        z.strictObject({
          source_matchers: matchers,
          target_matchers: matchers,
          /** Labels whose values must be the same in source and target. */
          equal: z.array(z.string()).default([]),
        }),
      )
      .default([]),
    time_intervals: z.array(timeIntervalSchema).default([]),
    escalation_policies: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          /** Applies to alerts of these severities; critical only by default. */
          severities: z.array(z.enum(["critical", "major", "minor"])).default(["critical"]),
          steps: z.array(z.strictObject({ after: duration, receiver: z.string() })).min(1),
        }),
      )
      .default([]),
  })
  .superRefine((cfg, ctx) => {
    const receivers = new Set(cfg.receivers.map((r) => r.name));
    const intervals = new Set(cfg.time_intervals.map((t) => t.name));
    const policies = new Set(cfg.escalation_policies.map((p) => p.name));
    if (!cfg.route.receiver)
      ctx.addIssue({
        code: "custom",
        path: ["route", "receiver"],
        message: "the root route needs a receiver",
      });
    const walk = (r: RouteConfig, path: PropertyKey[]) => {
      if (r.receiver && !receivers.has(r.receiver))
        ctx.addIssue({
          code: "custom",
          path: [...path, "receiver"],
          message: `no receiver named ${r.receiver}`,
        });
      for (const name of [...r.mute_time_intervals, ...r.active_time_intervals])
        if (!intervals.has(name))
          ctx.addIssue({ code: "custom", path, message: `no time interval named ${name}` });
      if (r.escalation && !policies.has(r.escalation))
        ctx.addIssue({
          code: "custom",
          path: [...path, "escalation"],
          message: `no escalation policy named ${r.escalation}`,
        });
      r.routes.forEach((child, i) => walk(child, [...path, "routes", i]));
    };
    walk(cfg.route, ["route"]);
    cfg.escalation_policies.forEach((p, i) =>
      p.steps.forEach((s, j) => {
        if (!receivers.has(s.receiver))
          ctx.addIssue({
            code: "custom",
            path: ["escalation_policies", i, "steps", j, "receiver"],
            message: `no receiver named ${s.receiver}`,
          });
      }),
    );
  });

export type Alerting = z.infer<typeof alertingSchema>;
export type ReceiverConfig = Alerting["receivers"][number];
export type DeliverySettings = z.infer<typeof deliverySchema>;

export const notifierSettings = baseSettings
  .extend({
    notifier: z
      .strictObject({
        /** Consumer group vigil-notifier-<name>: one active member sends, the others stand by. */
        name: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]*$/)
          .default("main"),
        alerts: z.string().default(TOPICS.alerts.name),
        alertsState: z.string().default(TOPICS.alertsState.name),
        log: z.string().default(TOPICS.notificationLog.name),
        silences: z.string().default(TOPICS.silences.name),
        acks: z.string().default(TOPICS.acks.name),
        /** The fleet remediation budget's ledger (compacted). */
        remediation: z.string().default(TOPICS.remediation.name),
        /** How often groups are checked for a due notification. */
        tick: duration.default(1_000),
        /** Where links in notifications point (the notifier's API, a dashboard). */
        externalUrl: z.string().default("http://127.0.0.1:9473"),
        sessionTimeout: duration.default(30_000),
      })
      .prefault({}),
    /** Vigil's own routing configuration… */
    alerting: alertingSchema.optional(),
    /** …or an Alertmanager configuration file, as it is (see alertmanager-config.ts). */
    alertmanager: z.strictObject({ config: z.string().min(1) }).optional(),
    /** An API alert without endsAt resolves this long after it was last sent (Alertmanager's resolve_timeout). */
    resolveTimeout: duration.optional(),
    delivery: deliverySchema.prefault({}),
    /** The HTTP API (silences, acks, alerts) is served on the service's http port. */
    api: z.strictObject({ token: secretRef.optional() }).prefault({}),
  })
  // The API silences and acknowledges alerts: off loopback, not without a token.
  .superRefine((settings, ctx) =>
    offLoopbackWithoutAuth(
      ctx,
      ["api", "token"],
      settings.http.host,
      settings.api.token !== undefined,
      "the notifier API (silences, acknowledgements)",
    ),
  )
  .transform((settings, ctx) => {
    const { alertmanager, alerting, resolveTimeout, ...rest } = settings;
    if ((alerting === undefined) === (alertmanager === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["alerting"],
        message:
          "give alerting (Vigil's routing) or alertmanager.config (an alertmanager.yml), one of them",
      });
      return z.NEVER;
    }
    if (alerting)
      return {
        ...rest,
        alerting,
        resolveTimeout: resolveTimeout ?? 300_000,
        alertmanager: undefined as { config: string } | undefined,
      };
    try {
      const loaded = readAlertmanagerFile(alertmanager!.config);
      return {
        ...rest,
        alerting: loaded.alerting,
        resolveTimeout: resolveTimeout ?? loaded.resolveTimeout,
        alertmanager: alertmanager as { config: string } | undefined,
      };
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        path: ["alertmanager", "config"],
        message: (error as Error).message,
      });
      return z.NEVER;
    }
  });

/** Reads and checks an alertmanager.yml; throws an error naming the file and every bad key. */
export function readAlertmanagerFile(path: string): { alerting: Alerting; resolveTimeout: number } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new AlertmanagerConfigError(`${path}: cannot read: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new AlertmanagerConfigError(`${path}: not YAML: ${(error as Error).message}`);
  }
  const { alerting, resolveTimeout } = fromAlertmanager(doc, path);
  const parsed = alertingSchema.safeParse(alerting);
  if (!parsed.success)
    throw new AlertmanagerConfigError(
      `${path}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return { alerting: parsed.data, resolveTimeout };
}

export type NotifierSettings = z.infer<typeof notifierSettings>;

// Configuration of the notifier. The routing part reads like Alertmanager's configuration — route
// tree, group_by/group_wait/group_interval/repeat_interval, continue, matchers, time intervals,
// inhibit_rules — plus silences, acknowledgement and escalation policies, and the receivers.
// Everything is checked at start-up; secrets (webhook URLs, routing keys, SMTP passwords) are
// references to the environment or a file, never inline and never logged.
import { z } from "zod";
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

const clock = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'expected a time like "09:00"');

export const timeIntervalSchema = z.strictObject({
  name: z.string().min(1),
  time_intervals: z
    .array(
      z.strictObject({
        /** "monday", or a range "monday:friday". */
        weekdays: z
          .array(
            z
              .string()
              .regex(
                /^(sunday|monday|tuesday|wednesday|thursday|friday|saturday)(:(sunday|monday|tuesday|wednesday|thursday|friday|saturday))?$/i,
                'expected a weekday or a range like "monday:friday"',
              ),
          )
          .optional(),
        times: z.array(z.strictObject({ start_time: clock, end_time: clock })).optional(),
        /** IANA time zone the weekdays and times are in; UTC by default. */
        location: z.string().default("UTC"),
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
        /** How often groups are checked for a due notification. */
        tick: duration.default(1_000),
        /** Where links in notifications point (the notifier's API, a dashboard). */
        externalUrl: z.string().default("http://127.0.0.1:9473"),
        sessionTimeout: duration.default(30_000),
      })
      .prefault({}),
    alerting: alertingSchema,
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
  );

export type NotifierSettings = z.infer<typeof notifierSettings>;

// Action hook for automated remediation ("cordon the node, reset the GPU"): POST the notification
// to a URL, or run a command with it on stdin — only what the allow-list names, and with dry_run
// on (the default) nothing runs: it is logged and recorded. Without a budget, at most `max` per
// `per`. With a `budget` every firing alert is one request to the fleet remediation budget
// (../remediation.ts): at most max_active targets in remediation at once and max_per_hour an
// hour, a cool-down per target; beyond, it waits its turn; each decision is recorded on the
// compacted remediation topic and shown with the alert. Resolved notifications release targets.
// Recipes (cordon and taint through the Kubernetes API, drain, GPU reset): deploy/remediation/.
import { execFile } from "node:child_process";
import { z } from "zod";
import { duration } from "../../chassis/config.js";
import { DeliveryError, defineReceiver, post } from "./api.js";

const config = z
  .strictObject({
    url: z.url().optional(),
    /** argv: the program and its arguments; the notification comes on stdin as JSON. */
    command: z.array(z.string().min(1)).min(1).optional(),
    /** URL prefixes or programs that may be called. */
    allow: z.array(z.string().min(1)).min(1),
    dry_run: z.boolean().default(true),
    rate_limit: z
      .strictObject({ max: z.number().int().min(1), per: duration })
      .default({ max: 3, per: 3_600_000 }),
    budget: z
      .strictObject({
        /** Budgets of the same name count together, across receivers. */
        name: z.string().min(1).default("fleet"),
        /** Labels naming the target: [host] for a node, [host, gpu] for a GPU. */
        target: z.array(z.string().min(1)).min(1).default(["host"]),
        max_active: z.number().int().min(1).default(1),
        max_per_hour: z.number().int().min(1).default(10),
        cooldown: duration.default(3_600_000),
        /** A target in remediation is released this long after its action, if its alert has not resolved. */
        hold: duration.default(3_600_000),
      })
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (!c.url === !c.command)
      ctx.addIssue({ code: "custom", message: "give exactly one of url and command" });
    if (c.url && !c.allow.some((prefix) => c.url!.startsWith(prefix)))
      ctx.addIssue({ code: "custom", path: ["url"], message: `${c.url} is not on the allow-list` });
    if (c.command && !c.allow.includes(c.command[0]!))
      ctx.addIssue({
        code: "custom",
        path: ["command"],
        message: `${c.command[0]} is not on the allow-list`,
      });
  });

export const action = defineReceiver({
  kind: "action",
  config,
  create(c, { logger, now, id, ledger }) {
    const runs: number[] = [];
    const target = c.url ?? c.command;
    const execute = async (body: string, signal?: AbortSignal) => {
      if (c.dry_run) {
        logger.info({ target }, "action hook (dry run): would run");
        return;
      }
      if (c.url)
        return post(
          c.url,
          body,
          { "content-type": "application/json" },
          signal ?? AbortSignal.timeout(60_000),
        );
      const [program, ...args] = c.command!;
      await new Promise<void>((resolve, reject) => {
        const child = execFile(
          program!,
          args,
          { ...(signal && { signal }), timeout: 60_000 },
          (error, _out, stderr) =>
            error
              ? reject(
                  new DeliveryError(`${program}: ${error.message} ${stderr.slice(0, 300)}`, false),
                )
              : resolve(),
        );
        child.stdin?.end(body);
      });
    };
    if (c.budget && ledger && id) {
      const policy = {
        name: c.budget.name,
        target: c.budget.target,
        maxActive: c.budget.max_active,
        maxPerHour: c.budget.max_per_hour,
        cooldown: c.budget.cooldown,
        hold: c.budget.hold,
      };
      // A waiting action runs later, from the ledger's tick: no request's signal applies then.
      ledger.register(id, policy, (body) => execute(body));
      return async (n) => {
        for (const alert of n.alerts) {
          if (alert.status === "resolved") {
            await ledger.resolved(alert.fingerprint);
            continue;
          }
          const decision = await ledger.request(
            {
              policy,
              receiver: id,
              fingerprint: alert.fingerprint,
              alertname: alert.rule,
              labels: alert.labels,
              dryRun: c.dry_run,
              payload: JSON.stringify({ ...n, status: "firing", alerts: [alert] }),
            },
            (body) => execute(body),
          );
          logger.info(
            { receiver: n.receiver, alert: alert.fingerprint, decision: decision.decision },
            `remediation: ${decision.reason}`,
          );
        }
      };
    }
    return async (n, signal) => {
      if (n.status !== "firing") return;
      const at = now();
      while (runs.length > 0 && runs[0]! <= at - c.rate_limit.per) runs.shift();
      if (runs.length >= c.rate_limit.max) {
        logger.warn(
          { receiver: n.receiver, group: n.groupId },
          "action hook rate limit reached: not run",
        );
        throw new DeliveryError(
          `rate limit: ${c.rate_limit.max} actions per ${c.rate_limit.per} ms`,
          false,
        );
      }
      runs.push(at);
      await execute(JSON.stringify(n), signal);
    };
  },
});

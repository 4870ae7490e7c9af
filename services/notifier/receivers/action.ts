// Action hook for automated remediation ("restart the service, scale out"): POST the notification
// to a URL, or run a command with it on stdin — only what the allow-list names, at most `max` per
// `per`, and with dry_run on (the default) nothing runs: it is logged and counted. Firing
// notifications only; a resolved alert needs no remediation.
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
  create(c, { logger, now }) {
    const runs: number[] = [];
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
      const body = JSON.stringify(n);
      if (c.dry_run) {
        logger.info(
          { receiver: n.receiver, group: n.groupId, target: c.url ?? c.command },
          "action hook (dry run): would run",
        );
        return;
      }
      if (c.url) return post(c.url, body, { "content-type": "application/json" }, signal);
      const [program, ...args] = c.command!;
      await new Promise<void>((resolve, reject) => {
        const child = execFile(
          program!,
          args,
          { signal, timeout: 60_000 },
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
  },
});

// PagerDuty Events API v2: one incident per alert group — trigger while any alert of the group
// fires, resolve when none does — with dedup_key = the group's id, so PagerDuty itself also folds
// repeats into one incident. Severity maps critical→critical, major→error, minor→warning.
// Fields PagerDuty shows as one line (summary, source, component, group, class) are made single
// plain lines without control characters, within PagerDuty's lengths.
import { z } from "zod";
import { readSecret, secretRef } from "../../chassis/settings.js";
import {
  consoleLink,
  defineReceiver,
  firingOf,
  post,
  severityOf,
  type Notification,
} from "./api.js";
import { lineText, safeUrl } from "./text.js";

const optionalLine = (text: string | undefined) =>
  text === undefined ? undefined : lineText(text, 255);

const SEVERITY = { critical: "critical", major: "error", minor: "warning" } as const;

export function pagerDutyEvent(n: Notification, routingKey: string): object {
  if (n.status === "resolved")
    return { routing_key: routingKey, event_action: "resolve", dedup_key: n.groupId };
  const firing = firingOf(n);
  const first = firing[0]!;
  const summary =
    firing.length === 1
      ? first.annotations.summary
      : `${firing.length} alerts: ${firing.map((a) => a.annotations.summary).join("; ")}`;
  const runbook = safeUrl(firing.find((a) => a.annotations.runbook_url)?.annotations.runbook_url);
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: n.groupId,
    payload: {
      summary: lineText(summary, 1024),
      source: lineText(first.labels.host ?? first.labels.instance ?? "vigil", 255),
      severity: SEVERITY[severityOf(n)],
      timestamp: new Date(Math.min(...firing.map((a) => a.startsAt))).toISOString(),
      component: optionalLine(first.labels.service ?? first.labels.job),
      group: lineText(n.groupLabels.cluster ?? Object.values(n.groupLabels).join("/"), 255),
      class: lineText(first.rule, 255),
      custom_details: {
        firing: firing.length,
        alerts: firing
          .slice(0, 20)
          .map((a) => ({ fingerprint: a.fingerprint, labels: a.labels, value: a.value })),
        ...(n.escalation && { escalation_step: n.escalation }),
      },
    },
    ...(runbook && { links: [{ href: runbook, text: "Runbook" }] }),
    client: "Vigil",
    client_url: consoleLink(n),
  };
}

export const pagerduty = defineReceiver({
  kind: "pagerduty",
  config: z.strictObject({
    routing_key: secretRef,
    url: z.url().default("https://events.pagerduty.com/v2/enqueue"),
  }),
  create(config) {
    return async (n, signal) => {
      const body = JSON.stringify(pagerDutyEvent(n, readSecret(config.routing_key)));
      await post(config.url, body, { "content-type": "application/json" }, signal);
    };
  },
});

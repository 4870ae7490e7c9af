// Slack-style incoming webhook: a Block Kit message inside an attachment coloured by severity —
// header with the status and count, the summary, the group's labels as fields, a runbook button and
// the count of alerts in the group. Limits of the published format are kept (header ≤ 150 chars,
// section text ≤ 3000, ≤ 10 fields of ≤ 2000). Every label and annotation is escaped for mrkdwn
// (text.ts): a label cannot write a link, a mention or a channel ping.
import { z } from "zod";
import { readSecret, secretRef } from "../../chassis/settings.js";
import {
  consoleLink,
  defineReceiver,
  firingOf,
  post,
  severityOf,
  title,
  type Notification,
} from "./api.js";
import { safeUrl, slackText } from "./text.js";

const COLOURS = { critical: "#E01E5A", major: "#ECB22E", minor: "#36C5F0", resolved: "#2EB67D" };

const cut = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

export function slackMessage(n: Notification, channel?: string): object {
  const colour = n.status === "resolved" ? COLOURS.resolved : COLOURS[severityOf(n)];
  const shown = n.status === "firing" ? firingOf(n) : n.alerts;
  const summaries = shown
    .slice(0, 10)
    .map((a) => `• ${slackText(a.annotations.summary)}`)
    .join("\n");
  const more = shown.length > 10 ? `\n…and ${shown.length - 10} more` : "";
  const labels = Object.entries({ ...n.commonLabels, ...n.groupLabels }).slice(0, 10);
  const runbook = safeUrl(shown.find((a) => a.annotations.runbook_url)?.annotations.runbook_url);
  const blocks: object[] = [
    { type: "header", text: { type: "plain_text", text: cut(title(n), 150), emoji: true } },
    {
      type: "section",
      text: { type: "mrkdwn", text: cut(summaries + more || slackText(title(n)), 3000) },
    },
  ];
  if (labels.length > 0)
    blocks.push({
      type: "section",
      fields: labels.map(([k, v]) => ({
        type: "mrkdwn",
        text: cut(`*${slackText(k)}*\n${slackText(v)}`, 2000),
      })),
    });
  blocks.push({
    type: "actions",
    elements: [
      ...(runbook
        ? [{ type: "button", text: { type: "plain_text", text: "Runbook" }, url: runbook }]
        : []),
      { type: "button", text: { type: "plain_text", text: "Silence / ack" }, url: consoleLink(n) },
    ],
  });
  blocks.push({
    type: "context",
    elements: [
      {
        type: "mrkdwn",
        text: `${n.alerts.length} alert(s) in group · ${firingOf(n).length} firing · severity ${severityOf(n)} · group ${n.groupId}`,
      },
    ],
  });
  return {
    ...(channel && { channel }),
    text: slackText(title(n)), // the notification fallback (mrkdwn too)
    attachments: [{ color: colour, blocks }],
  };
}

export const slack = defineReceiver({
  kind: "slack",
  config: z.strictObject({ webhook_url: secretRef, channel: z.string().optional() }),
  create(config) {
    return async (n, signal) => {
      const body = JSON.stringify(slackMessage(n, config.channel));
      await post(
        readSecret(config.webhook_url),
        body,
        { "content-type": "application/json" },
        signal,
      );
    };
  },
});

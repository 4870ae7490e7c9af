// Generic webhook with Alertmanager's webhook payload (version 4), so tools that take
// Alertmanager's webhooks take ours. Signed: X-Vigil-Timestamp (ms) and
// X-Vigil-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>.<body>">, so a receiver can check
// origin and freshness.
import { createHmac } from "node:crypto";
import { z } from "zod";
import { readSecret, secretRef } from "../../chassis/settings.js";
import { defineReceiver, post, type Notification } from "./api.js";

const iso = (ms: number | null) =>
  ms === null ? "0001-01-01T00:00:00Z" : new Date(ms).toISOString();

export function alertmanagerPayload(n: Notification): object {
  return {
    version: "4",
    groupKey: n.groupKey,
    truncatedAlerts: 0,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL: n.externalUrl,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: {
        summary: a.annotations.summary,
        ...(a.annotations.description && { description: a.annotations.description }),
        ...(a.annotations.runbook_url && { runbook_url: a.annotations.runbook_url }),
      },
      startsAt: iso(a.startsAt),
      endsAt: iso(a.endsAt),
      generatorURL: n.externalUrl,
      fingerprint: a.fingerprint,
    })),
  };
}

export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export const webhook = defineReceiver({
  kind: "webhook",
  config: z.strictObject({ url: secretRef, secret: secretRef }),
  create(config, { now }) {
    return async (n, signal) => {
      const body = JSON.stringify(alertmanagerPayload(n));
      const timestamp = String(now());
      await post(
        readSecret(config.url),
        body,
        {
          "content-type": "application/json",
          "x-vigil-timestamp": timestamp,
          "x-vigil-signature": sign(readSecret(config.secret), timestamp, body),
        },
        signal,
      );
    };
  },
});

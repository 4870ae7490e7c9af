// Generic webhook with Alertmanager's webhook payload (version 4), so tools that take
// Alertmanager's webhooks take ours. Signed: X-Vigil-Timestamp (ms) and
// X-Vigil-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>.<body>">, so a receiver can check
// origin and freshness — signatureVerifier below is the check, replays included.
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { readSecret, secretRef } from "../../chassis/settings.js";
import { alertAnnotations, defineReceiver, post, type Notification } from "./api.js";

const iso = (ms: number | null) =>
  ms === null ? "0001-01-01T00:00:00Z" : new Date(ms).toISOString();

/** The payload; `maxAlerts` > 0 sends at most that many alerts and says how many were left out. */
export function alertmanagerPayload(n: Notification, maxAlerts = 0): object {
  const alerts = maxAlerts > 0 ? n.alerts.slice(0, maxAlerts) : n.alerts;
  return {
    version: "4",
    groupKey: n.groupKey,
    truncatedAlerts: n.alerts.length - alerts.length,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    // As the alerts' own: no empty annotation (a notification built elsewhere may carry one).
    commonAnnotations: Object.fromEntries(
      Object.entries(n.commonAnnotations).filter(([, value]) => value !== ""),
    ),
    externalURL: n.externalUrl,
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: alertAnnotations(a),
      startsAt: iso(a.startsAt),
      // A firing alert has not ended: Alertmanager writes Go's zero time.
      endsAt: iso(a.status === "firing" ? null : a.endsAt),
      generatorURL: a.generatorUrl ?? n.externalUrl,
      fingerprint: a.fingerprint,
    })),
  };
}

export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/**
 * The receiving side: checks a request's signature, that its timestamp is within `toleranceMs` of
 * our clock (either way) and that the same signature was not accepted before (a replay) — the
 * recipe any receiver of Vigil's webhooks should follow. Returns why a request is refused, or
 * undefined when it is genuine and fresh.
 */
export function signatureVerifier(
  secret: string,
  { toleranceMs = 300_000, now = Date.now }: { toleranceMs?: number; now?: () => number } = {},
): (
  timestamp: string | undefined,
  signature: string | undefined,
  body: string,
) => string | undefined {
  const seen = new Map<string, number>();
  return (timestamp, signature, body) => {
    const at = Number(timestamp);
    if (!timestamp || !Number.isSafeInteger(at))
      return "x-vigil-timestamp: missing or not milliseconds";
    const expected = Buffer.from(sign(secret, timestamp, body));
    const given = Buffer.from(signature ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return "x-vigil-signature: does not match the body";
    const time = now();
    if (Math.abs(time - at) > toleranceMs)
      return `x-vigil-timestamp: ${Math.round((time - at) / 1000)}s from our clock, beyond ${toleranceMs / 1000}s`;
    for (const [old, until] of seen) if (until < time) seen.delete(old);
    if (seen.has(given.toString())) return "x-vigil-signature: already received (a replay)";
    seen.set(given.toString(), at + toleranceMs);
    return undefined;
  };
}

export const webhook = defineReceiver({
  kind: "webhook",
  config: z.strictObject({
    url: secretRef,
    /** Signs each request (see above); without it the request is sent as Alertmanager sends it. */
    secret: secretRef.optional(),
    /** At most this many alerts per request (0: all), as Alertmanager's max_alerts. */
    max_alerts: z.number().int().min(0).default(0),
  }),
  create(config, { now }) {
    return async (n, signal) => {
      const body = JSON.stringify(alertmanagerPayload(n, config.max_alerts));
      const timestamp = String(now());
      await post(
        readSecret(config.url),
        body,
        {
          "content-type": "application/json",
          ...(config.secret && {
            "x-vigil-timestamp": timestamp,
            "x-vigil-signature": sign(readSecret(config.secret), timestamp, body),
          }),
        },
        signal,
      );
    };
  },
});

// Getting a notification to its receiver: a per-receiver rate limit (notifications wait their
// turn), attempts with a timeout, retries with exponential backoff and full jitter while the
// failure may pass (5xx, 429 — honouring Retry-After —, timeouts, refused connections) for up to
// `retryFor`, then the dead-letter topic. Every outcome is counted per receiver, with latency.
import type { ServiceMetrics } from "../chassis/metrics.js";
import type { Logger } from "../chassis/logger.js";
import { DeliveryError, type Notification, type Send } from "./receivers/api.js";
import type { DeliverySettings } from "./settings.js";

export interface DeliveryDeps {
  /** By integration id: how to send, and whether resolutions are sent at all. */
  senders: ReadonlyMap<string, { send: Send; sendResolved: boolean }>;
  settings: DeliverySettings;
  metrics: ServiceMetrics;
  logger: Logger;
  /** Where a notification that could not be delivered goes, with the reason. */
  deadLetter: (notification: Notification, reason: string) => Promise<void>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export function createDelivery(deps: DeliveryDeps): (n: Notification) => Promise<boolean> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const random = deps.random ?? Math.random;
  const { settings, metrics, logger } = deps;
  const sent = new Map<string, number[]>();

  async function turn(receiver: string): Promise<void> {
    const times = sent.get(receiver) ?? [];
    sent.set(receiver, times);
    for (;;) {
      const at = now();
      while (times.length > 0 && times[0]! <= at - settings.rateLimit.per) times.shift();
      if (times.length < settings.rateLimit.max) {
        times.push(at);
        return;
      }
      metrics.notifications.inc({ receiver, result: "rate_limited" });
      await sleep(times[0]! + settings.rateLimit.per - at);
    }
  }

  return async function deliver(notification: Notification): Promise<boolean> {
    const receiver = notification.integration ?? notification.receiver;
    const sender = deps.senders.get(receiver);
    if (!sender) throw new Error(`no receiver named ${receiver}`);
    if (!sender.sendResolved) {
      // send_resolved: false — the integration hears of firing alerts only.
      const firing = notification.alerts.filter((a) => a.status === "firing");
      if (firing.length === 0) return true;
      notification = { ...notification, alerts: firing, status: "firing" };
    }
    const send = sender.send;
    const started = now();
    await turn(receiver);
    for (let attempt = 1; ; attempt++) {
      let failure: DeliveryError;
      const attemptStart = performance.now();
      try {
        await send(notification, AbortSignal.timeout(settings.timeout));
        metrics.notifications.inc({ receiver, result: "sent" });
        metrics.notificationSeconds.observe(
          { receiver },
          (performance.now() - attemptStart) / 1000,
        );
        return true;
      } catch (error) {
        failure =
          error instanceof DeliveryError
            ? error
            : new DeliveryError((error as Error).message, true);
      }
      metrics.notifications.inc({ receiver, result: "failed" });
      const backoff = Math.min(settings.maxBackoff, settings.initialBackoff * 2 ** (attempt - 1));
      const wait = Math.max(failure.retryAfterMs ?? 0, Math.round(backoff * random()));
      if (!failure.retryable || now() + wait - started > settings.retryFor) {
        const reason = `${failure.retryable ? `gave up after ${attempt} attempt(s)` : "refused"}: ${failure.message}`;
        logger.error(
          { receiver, group: notification.groupId, attempt },
          `notification not delivered: ${reason}`,
        );
        metrics.notifications.inc({ receiver, result: "dead_lettered" });
        await deps.deadLetter(notification, reason);
        return false;
      }
      metrics.notifications.inc({ receiver, result: "retried" });
      logger.warn(
        { receiver, group: notification.groupId, attempt, waitMs: wait },
        `delivery failed, retrying: ${failure.message}`,
      );
      await sleep(wait);
    }
  };
}

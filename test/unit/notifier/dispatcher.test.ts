// Routing, grouping and when to notify, with an injected clock and a recording receiver.
import { describe, expect, it } from "vitest";
import type { Alert } from "../../../schemas/types.js";
import { createLogger } from "../../../services/chassis/logger.js";
import { createMetrics } from "../../../services/chassis/metrics.js";
import { createDelivery } from "../../../services/notifier/delivery.js";
import { Dispatcher } from "../../../services/notifier/dispatcher.js";
import { DeliveryError, type Notification } from "../../../services/notifier/receivers/api.js";
import { compileRoute, matchRoutes } from "../../../services/notifier/routing.js";
import { alertingSchema, deliverySchema } from "../../../services/notifier/settings.js";
import { Acks, NotificationLog, Silences } from "../../../services/notifier/stores.js";
import { inInterval } from "../../../services/notifier/time-intervals.js";
import { alert } from "../../support/notifier.js";

const S = 1000;
const T0 = Date.parse("2026-11-25T10:00:00Z"); // a Wednesday

function setup(alerting: object, options: { fail?: (n: Notification) => boolean } = {}) {
  const config = alertingSchema.parse({
    receivers: [
      { name: "chat", slack: { webhook_url: { env: "X" } } },
      { name: "pager", slack: { webhook_url: { env: "X" } } },
    ],
    ...alerting,
  });
  const sent: Notification[] = [];
  const log = new NotificationLog();
  const silences = new Silences();
  const acks = new Acks();
  const dispatcher = new Dispatcher(config, {
    log,
    silences,
    acks,
    deliver: async (n) => {
      if (options.fail?.(n)) return false;
      sent.push(n);
      return true;
    },
    record: async (entry) => log.apply(entry),
    externalUrl: "http://vigil",
    logger: createLogger("test", "silent"),
  });
  const at = async (second: number, ...alerts: Alert[]) => {
    for (const a of alerts) dispatcher.insert(a, T0 + second * S);
    await dispatcher.tick(T0 + second * S);
  };
  const summary = () =>
    sent.map((n) => `${n.receiver}:${n.status}:${n.alerts.map((a) => a.labels.host).join(",")}`);
  return { dispatcher, sent, at, summary, silences, acks, log };
}

const route = (extra: object = {}) => ({
  route: {
    receiver: "chat",
    group_by: ["alertname"],
    group_wait: "10s",
    group_interval: "30s",
    repeat_interval: "1h",
    ...extra,
  },
});

describe("grouping and notifying", () => {
  it("waits group_wait, sends the group once, adds newcomers at the next group_interval, repeats after repeat_interval", async () => {
    const { at, summary } = setup(route());
    await at(0, alert("Hot", { host: "a" }));
    await at(5, alert("Hot", { host: "b" }));
    expect(summary()).toEqual([]);
    await at(10);
    expect(summary()).toEqual(["chat:firing:a,b"]);
    await at(20, alert("Hot", { host: "c" }));
    await at(39);
    expect(summary()).toHaveLength(1);
    await at(40);
    expect(summary()).toEqual(["chat:firing:a,b", "chat:firing:a,b,c"]);
    await at(40 + 3_599);
    expect(summary()).toHaveLength(2);
    await at(40 + 3_600 + 30);
    expect(summary()).toHaveLength(3);
  });

  it("sends a resolution once, for the alerts it had announced", async () => {
    const { at, summary } = setup(route());
    await at(0, alert("Hot", { host: "a" }), alert("Hot", { host: "b" }));
    await at(10);
    await at(15, alert("Hot", { host: "a" }, "resolved"));
    await at(40);
    await at(70);
    await at(75, alert("Hot", { host: "b" }, "resolved"));
    await at(100);
    await at(130);
    expect(summary()).toEqual(["chat:firing:a,b", "chat:firing:b,a", "chat:resolved:b"]);
  });

  it("never announces an alert that fired and resolved within group_wait", async () => {
    const { at, summary } = setup(route());
    await at(0, alert("Blip", { host: "a" }));
    await at(5, alert("Blip", { host: "a" }, "resolved"));
    await at(10);
    await at(40);
    expect(summary()).toEqual([]);
  });

  it("does not repeat an acknowledged alert, but escalates an unacknowledged critical one once per step", async () => {
    const { at, summary, acks } = setup({
      ...route({ escalation: "oncall" }),
      escalation_policies: [{ name: "oncall", steps: [{ after: "5m", receiver: "pager" }] }],
    });
    const start = T0;
    await at(
      0,
      alert("Down", { host: "a" }, "firing", { startsAt: start }),
      alert("Down", { host: "b", severity: "major" }, "firing", { startsAt: start }),
    );
    await at(10);
    await at(300);
    expect(summary()).toEqual(["chat:firing:a,b", "pager:firing:a"]);
    await at(330);
    await at(360);
    expect(summary()).toHaveLength(2);
    acks.apply({
      fingerprint: alert("Down", { host: "a" }).fingerprint,
      by: "sre",
      comment: "",
      at: T0 + 400 * S,
    });
    acks.apply({
      fingerprint: alert("Down", { host: "b", severity: "major" }).fingerprint,
      by: "sre",
      comment: "",
      at: T0 + 400 * S,
    });
    await at(3_700);
    expect(summary()).toHaveLength(2);
  });

  it("routes by matchers with continue, children inheriting their parent's settings", () => {
    const root = compileRoute(
      alertingSchema.parse({
        receivers: [
          { name: "chat", slack: { webhook_url: { env: "X" } } },
          { name: "pager", slack: { webhook_url: { env: "X" } } },
        ],
        route: {
          receiver: "chat",
          group_wait: "1m",
          routes: [
            { matchers: ['severity="critical"'], receiver: "pager", continue: true },
            { matchers: ['team=~"ml|infra"', 'env!="dev"'], group_by: ["host"] },
          ],
        },
      }).route,
    );
    const ids = (labels: Record<string, string>) =>
      matchRoutes(root, labels).map((r) => `${r.id}:${r.receiver}`);
    expect(ids({ severity: "critical", team: "ml" })).toEqual(["0.0:pager", "0.1:chat"]);
    expect(ids({ severity: "critical", team: "web" })).toEqual(["0.0:pager"]);
    expect(ids({ severity: "minor", team: "infra", env: "dev" })).toEqual(["0:chat"]);
    expect(matchRoutes(root, { team: "ml" })[0]!).toMatchObject({
      groupWait: 60_000,
      groupBy: ["host"],
    });
  });

  it("sends nothing on a route muted outside working hours, and catches up when the interval ends", async () => {
    const { at, summary } = setup({
      ...route({ mute_time_intervals: ["nights"] }),
      time_intervals: [
        {
          name: "nights",
          time_intervals: [{ times: [{ start_time: "00:00", end_time: "10:01" }] }],
        },
      ],
    });
    await at(0, alert("Minor", { host: "a", severity: "minor" }));
    await at(10);
    await at(40);
    expect(summary()).toEqual([]);
    await at(70); // 10:01:10 UTC
    expect(summary()).toEqual(["chat:firing:a"]);
  });

  it("tries a failed delivery again at the next group_interval", async () => {
    let down = true;
    const { at, summary } = setup(route(), { fail: () => down });
    await at(0, alert("Hot", { host: "a" }));
    await at(10);
    down = false;
    await at(40);
    expect(summary()).toEqual(["chat:firing:a"]);
  });
});

describe("time intervals", () => {
  it("match weekdays and times in their time zone", () => {
    const weekend = {
      name: "w",
      time_intervals: [{ weekdays: ["saturday:sunday"], location: "UTC" }],
    };
    const office = {
      name: "o",
      time_intervals: [
        {
          weekdays: ["monday:friday"],
          times: [{ start_time: "09:00", end_time: "17:00" }],
          location: "Europe/Berlin",
        },
      ],
    };
    expect(inInterval(weekend, Date.parse("2026-11-28T12:00:00Z"))).toBe(true);
    expect(inInterval(weekend, Date.parse("2026-11-25T12:00:00Z"))).toBe(false);
    expect(inInterval(office, Date.parse("2026-11-25T07:59:00Z"))).toBe(false); // 08:59 in Berlin
    expect(inInterval(office, Date.parse("2026-11-25T08:00:00Z"))).toBe(true); // 09:00 in Berlin
  });
});

describe("delivery", () => {
  const notification = { receiver: "chat", groupId: "g" } as Notification;

  it("retries with growing, jittered backoff, honours Retry-After, and dead-letters when the budget is spent", async () => {
    let clock = T0;
    const waits: number[] = [];
    const letters: string[] = [];
    const deliver = createDelivery({
      senders: new Map([
        [
          "chat",
          {
            sendResolved: true,
            send: async () => {
              throw new DeliveryError("503", true, waits.length === 2 ? 20_000 : undefined);
            },
          },
        ],
      ]),
      settings: deliverySchema.parse({ initialBackoff: "1s", maxBackoff: "8s", retryFor: "60s" }),
      metrics: createMetrics("t"),
      logger: createLogger("t", "silent"),
      deadLetter: async (_n, reason) => void letters.push(reason),
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
      random: () => 1,
    });
    expect(await deliver(notification)).toBe(false);
    expect(waits.slice(0, 5)).toEqual([1_000, 2_000, 20_000, 8_000, 8_000]);
    expect(clock - T0).toBeLessThanOrEqual(60_000);
    expect(letters).toEqual([expect.stringMatching(/^gave up after \d+ attempt\(s\): 503$/)]);
  });

  it("does not retry what the receiver refuses for good", async () => {
    const letters: string[] = [];
    const deliver = createDelivery({
      senders: new Map([
        [
          "chat",
          {
            sendResolved: true,
            send: async () => {
              throw new DeliveryError("400 invalid_blocks", false);
            },
          },
        ],
      ]),
      settings: deliverySchema.parse({}),
      metrics: createMetrics("t"),
      logger: createLogger("t", "silent"),
      deadLetter: async (_n, reason) => void letters.push(reason),
      sleep: async () => expect.fail("no retry expected"),
    });
    expect(await deliver(notification)).toBe(false);
    expect(letters).toEqual(["refused: 400 invalid_blocks"]);
  });

  it("holds notifications beyond a receiver's rate limit until their turn", async () => {
    let clock = T0;
    const deliver = createDelivery({
      senders: new Map([["chat", { send: async () => undefined, sendResolved: true }]]),
      settings: deliverySchema.parse({ rateLimit: { max: 2, per: "1m" } }),
      metrics: createMetrics("t"),
      logger: createLogger("t", "silent"),
      deadLetter: async () => undefined,
      now: () => clock,
      sleep: async (ms) => void (clock += ms),
    });
    for (let i = 0; i < 3; i++) await deliver(notification);
    expect(clock - T0).toBe(60_000);
  });
});

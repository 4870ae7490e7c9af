// Receivers with several integrations (an Alertmanager receiver with email_configs and
// pagerduty_configs), send_resolved, posted alerts that expire, and a reload that keeps what was
// told — with an injected clock and recording integrations.
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../services/chassis/logger.js";
import { createMetrics } from "../../../services/chassis/metrics.js";
import { createDelivery } from "../../../services/notifier/delivery.js";
import { Dispatcher } from "../../../services/notifier/dispatcher.js";
import type { Notification } from "../../../services/notifier/receivers/api.js";
import { alertingSchema, deliverySchema } from "../../../services/notifier/settings.js";
import { Acks, NotificationLog, Silences } from "../../../services/notifier/stores.js";
import { alert } from "../../support/notifier.js";

const S = 1000;
const T0 = Date.parse("2026-11-25T10:00:00Z");

function setup(receivers: object[], route: object = { receiver: "team" }) {
  const parse = (r: object[], rt: object) =>
    alertingSchema.parse({
      receivers: r,
      route: { group_by: ["alertname"], group_wait: "10s", group_interval: "30s", ...rt },
    });
  const config = parse(receivers, route);
  const sent: string[] = [];
  const log = new NotificationLog();
  const senders = new Map(
    config.receivers.flatMap((r) =>
      r.integrations.map((i) => [
        i.id,
        {
          sendResolved: i.sendResolved,
          send: async (n: Notification) => {
            sent.push(
              `${i.id}:${n.status}:${n.alerts.map((a) => `${a.labels.host}/${a.status}`).join(",")}`,
            );
          },
        },
      ]),
    ),
  );
  const deliver = createDelivery({
    senders,
    settings: deliverySchema.parse({}),
    metrics: createMetrics("t"),
    logger: createLogger("t", "silent"),
    deadLetter: async () => undefined,
  });
  const dispatcher = new Dispatcher(config, {
    log,
    silences: new Silences(),
    acks: new Acks(),
    deliver,
    record: async (entry) => log.apply(entry),
    externalUrl: "http://vigil",
    logger: createLogger("test", "silent"),
  });
  return { dispatcher, sent, log, parse };
}

const hook = (url: string) => ({ url: { env: url } });

describe("receivers with several integrations", () => {
  it("tell each integration once, each with its own log entry, and resolutions only where send_resolved", async () => {
    const { dispatcher, sent, log } = setup([
      { name: "team", webhook: [{ ...hook("A"), send_resolved: false }, hook("B")] },
    ]);
    dispatcher.insert(alert("Hot", { host: "a" }), T0);
    await dispatcher.tick(T0 + 10 * S);
    expect(sent).toEqual(["team/webhook/0:firing:a/firing", "team/webhook/1:firing:a/firing"]);
    expect(log.history(alert("Hot", { host: "a" }).fingerprint).map((e) => e.receiver)).toEqual([
      "team/webhook/0",
      "team/webhook/1",
    ]);
    dispatcher.insert(alert("Hot", { host: "a" }, "resolved"), T0 + 20 * S);
    await dispatcher.tick(T0 + 40 * S);
    expect(sent.slice(2)).toEqual(["team/webhook/1:resolved:a/resolved"]);
  });

  it("send nothing for a receiver without integrations (Alertmanager's null receiver)", async () => {
    const { dispatcher, sent } = setup([{ name: "team" }]);
    dispatcher.insert(alert("Hot", { host: "a" }), T0);
    await dispatcher.tick(T0 + 60 * S);
    expect(sent).toEqual([]);
  });
});

describe("posted alerts", () => {
  it("resolve by themselves when endsAt passes without a newer post", async () => {
    const { dispatcher, sent } = setup([{ name: "team", webhook: hook("A") }]);
    const posted = {
      ...alert("Hot", { host: "a" }),
      endsAt: T0 + 60 * S,
      sentAt: T0,
      source: "api",
    };
    dispatcher.insert(posted, T0);
    await dispatcher.tick(T0 + 10 * S);
    // re-posted at 50 s with a later endsAt: still firing at 70 s
    dispatcher.insert({ ...posted, endsAt: T0 + 110 * S, sentAt: T0 + 50 * S }, T0 + 50 * S);
    await dispatcher.tick(T0 + 70 * S);
    expect(sent).toEqual(["team:firing:a/firing"]);
    await dispatcher.tick(T0 + 110 * S);
    await dispatcher.tick(T0 + 140 * S);
    expect(sent).toEqual(["team:firing:a/firing", "team:resolved:a/resolved"]);
  });
});

describe("a reload", () => {
  it("routes known alerts by the new tree and tells no one again what they were already told", async () => {
    const { dispatcher, sent, parse } = setup([
      { name: "team", webhook: hook("A") },
      { name: "other", webhook: hook("B") },
    ]);
    dispatcher.insert(alert("Hot", { host: "a" }), T0);
    await dispatcher.tick(T0 + 10 * S);
    expect(sent).toEqual(["team:firing:a/firing"]);
    // same routing, new configuration object: nothing is sent again
    dispatcher.reconfigure(
      parse(
        [
          { name: "team", webhook: hook("A") },
          { name: "other", webhook: hook("B") },
        ],
        { receiver: "team" },
      ),
      T0 + 20 * S,
    );
    await dispatcher.tick(T0 + 60 * S);
    expect(sent).toHaveLength(1);
    // now routed to another receiver: that one is told, after its group_wait
    dispatcher.reconfigure(
      parse(
        [
          { name: "team", webhook: hook("A") },
          { name: "other", webhook: hook("B") },
        ],
        { receiver: "other" },
      ),
      T0 + 70 * S,
    );
    await dispatcher.tick(T0 + 80 * S);
    expect(sent).toEqual(["team:firing:a/firing", "other:firing:a/firing"]);
  });
});

describe("inhibition", () => {
  it("mutes a target while a firing source with the same equal labels exists, and names the source", async () => {
    const { dispatcher, sent, parse } = setup([{ name: "team", webhook: hook("A") }]);
    dispatcher.reconfigure(
      {
        ...parse([{ name: "team", webhook: hook("A") }], { receiver: "team" }),
        inhibit_rules: [
          {
            source_matchers: ['severity="critical"'],
            target_matchers: ['severity="major"'],
            equal: ["host", "zone"],
          },
        ],
      },
      T0,
    );
    const source = alert("Down", { host: "a", severity: "critical" });
    const sameHost = alert("Slow", { host: "a", severity: "major" });
    const otherHost = alert("Slow", { host: "b", severity: "major" });
    for (const a of [source, sameHost, otherHost]) dispatcher.insert(a, T0);
    await dispatcher.tick(T0 + 10 * S);
    // zone is absent on both sides: equal, as in Alertmanager
    expect(sent.sort()).toEqual(["team:firing:a/firing", "team:firing:b/firing"]);
    const views = new Map(dispatcher.view(T0 + 10 * S).map((v) => [v.alert.fingerprint, v]));
    expect(views.get(sameHost.fingerprint)!.inhibitedBy).toEqual([source.fingerprint]);
    expect(views.get(otherHost.fingerprint)!.inhibitedBy).toEqual([]);
    expect(views.get(source.fingerprint)!.inhibitedBy).toEqual([]);
  });
});

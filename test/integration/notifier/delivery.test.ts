// The notifier in-process on the real broker, delivering to local receivers that check the Slack
// and PagerDuty formats: one page per incident, grouping, silences, inhibition. (A receiver's
// 60-second outage is in test/faults/receiver-outage.test.ts.)
import { describe, expect, inject, it } from "vitest";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { waitFor } from "../../support/kafka.js";
import { notifierHarness } from "../../support/notifier-harness.js";
import { alert, publishAlerts } from "../../support/notifier.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("the notifier on the real broker", () => {
  const h = notifierHarness(endpoint, admin);
  const { start, stop, pagesFor } = h;
  const { slackFor } = h;

  it("sends one Slack message and one PagerDuty trigger for a firing alert, and one resolve of each when it clears", async () => {
    await start();
    try {
      const host = uniqueName("gpu-node");
      const firing = alert("GpuTemperatureHigh", { host, gpu: "0" });
      await publishAlerts(kafka, h.topics, [firing]);
      await waitFor(
        "the page and the chat message",
        async () => slackFor(host).length === 1 && pagesFor(host).length === 1,
      );
      // The detector re-sends while it fires: nothing more goes out before repeat_interval.
      await publishAlerts(kafka, h.topics, [{ ...firing, resend: true }]);
      await sleep(3_000);
      expect(slackFor(host)).toHaveLength(1);
      const trigger = pagesFor(host)[0]!.body as {
        event_action: string;
        dedup_key: string;
        payload: { severity: string; summary: string };
      };
      expect(trigger).toMatchObject({
        event_action: "trigger",
        payload: { severity: "critical", summary: `GpuTemperatureHigh on ${host}` },
      });

      await publishAlerts(kafka, h.topics, [{ ...firing, status: "resolved", endsAt: Date.now() }]);
      await waitFor("the resolutions", async () => slackFor(host).length === 2);
      await waitFor("the PagerDuty resolve", async () =>
        h.receivers
          .of("/pagerduty")
          .some((r) => r.body.event_action === "resolve" && r.body.dedup_key === trigger.dedup_key),
      );
      await sleep(3_000);
      expect(slackFor(host)).toHaveLength(2);
      expect(slackFor(host)[1]!.body.text).toBe("[RESOLVED:1] GpuTemperatureHigh");
      expect(
        h.receivers
          .of("/pagerduty")
          .filter((r) => r.body.dedup_key === trigger.dedup_key)
          .map((r) => r.body.event_action),
      ).toEqual(["trigger", "resolve"]);
      expect(h.receivers.refused).toEqual([]);
    } finally {
      await stop();
    }
  }, 60_000);

  it("groups 50 alerts that arrive within group_wait into one notification", async () => {
    await start({ route: { group_wait: "3s" } });
    try {
      const rule = `GpuEccErrors${Date.now()}`;
      const burst = Array.from({ length: 50 }, (_, i) =>
        alert(rule, { host: `node-${i}`, severity: "major" }),
      );
      await publishAlerts(kafka, h.topics, burst);
      await waitFor("the grouped message", async () => slackFor(rule).length >= 1);
      await sleep(4_000);
      const messages = slackFor(rule);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.body.text).toBe(`[FIRING:50] ${rule}`);
      expect(JSON.stringify(messages[0]!.body)).toContain("50 alert(s) in group");
    } finally {
      await stop();
    }
  }, 60_000);

  it("pages on time past a silence whose regex would backtrack for minutes, and refuses a regex RE2 cannot run", async () => {
    const service = await start();
    try {
      const api = `http://127.0.0.1:${service.http.port}/api/v1`;
      const silence = (matchers: string) =>
        fetch(`${api}/silences`, {
          method: "POST",
          body: JSON.stringify({
            matchers,
            duration: "1h",
            createdBy: "x@example.com",
            comment: "c",
          }),
        });
      // JavaScript's engine takes minutes on (a+)+b against 34 a's; RE2 is linear.
      expect((await silence('host=~"(a+)+b"')).status).toBe(201);
      const lookahead = await silence('host=~"(?=a)a"');
      expect(lookahead.status).toBe(400);
      expect(((await lookahead.json()) as { error: string }).error).toMatch(
        /^matchers: .*host=~"\(\?=a\)a": invalid regex: .*Perl syntax/,
      );
      const host = "a".repeat(34);
      const marker = uniqueName("redos");
      await publishAlerts(kafka, h.topics, [alert(marker, { host, severity: "minor" })]);
      await waitFor("the alert's page", async () => slackFor(marker).length === 1, 15_000);
      const ready = await fetch(`http://127.0.0.1:${service.http.port}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      await stop();
    }
  }, 60_000);

  it("sends nothing for a silenced alert while the silence lasts, and never sends an inhibited one", async () => {
    const service = await start({
      alerting: {
        inhibit_rules: [
          {
            source_matchers: ['alertname="NodeDown"'],
            target_matchers: ['alertname=~"Gpu.*"'],
            equal: ["host"],
          },
        ],
      },
    });
    try {
      const api = `http://127.0.0.1:${service.http.port}/api/v1`;
      const host = uniqueName("node");
      const created = await fetch(`${api}/silences`, {
        method: "POST",
        body: JSON.stringify({
          matchers: `alertname="DiskSlow", host="${host}"`,
          duration: "1h",
          createdBy: "sre@example.com",
          comment: "maintenance",
        }),
      });
      expect(created.status).toBe(201);
      const silence = (await created.json()) as { id: string };
      const bad = await fetch(`${api}/silences`, {
        method: "POST",
        body: JSON.stringify({ matchers: "host=", createdBy: "x", comment: "y", duration: "1h" }),
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/^matchers: /);

      await publishAlerts(kafka, h.topics, [
        alert("DiskSlow", { host, severity: "minor" }),
        alert("NodeDown", { host }),
        alert("GpuThrottling", { host, severity: "major" }),
      ]);
      await waitFor("NodeDown's page", async () =>
        slackFor(host).some((m) => m.body.text === "[FIRING:1] NodeDown"),
      );
      await sleep(4_000);
      expect(slackFor(host).map((m) => m.body.text)).toEqual(["[FIRING:1] NodeDown"]);

      const expired = await fetch(`${api}/silences/${silence.id}`, { method: "DELETE" });
      expect(expired.status).toBe(200);
      await waitFor("DiskSlow once its silence expired", async () =>
        slackFor(host).some((m) => m.body.text === "[FIRING:1] DiskSlow"),
      );
      expect(slackFor(host).some((m) => String(m.body.text).includes("GpuThrottling"))).toBe(false);
    } finally {
      await stop();
    }
  }, 60_000);
});

// What each receiver puts on the wire, checked against the published formats (the same checks the
// local Slack and PagerDuty stand-ins make), and the action hook's guards.
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../services/chassis/logger.js";
import type { Notification } from "../../../services/notifier/receivers/api.js";
import { pagerDutyEvent } from "../../../services/notifier/receivers/pagerduty.js";
import { RECEIVER_KINDS } from "../../../services/notifier/receivers/registry.js";
import { slackMessage } from "../../../services/notifier/receivers/slack.js";
import { alertmanagerPayload } from "../../../services/notifier/receivers/webhook.js";
import { alertingSchema } from "../../../services/notifier/settings.js";
import { alert, ROUTING_KEY } from "../../support/notifier.js";
import { pagerDutyProblems, slackProblems } from "../../support/receivers.js";

const notification = (status: "firing" | "resolved", n = 1): Notification => {
  const alerts = Array.from({ length: n }, (_, i) =>
    alert("GpuTemperatureHigh", { host: `node-${i}`, gpu: "0" }, status),
  );
  return {
    receiver: "r",
    groupKey: '0.0:{alertname="GpuTemperatureHigh"}',
    groupId: "0123456789abcdef",
    status,
    groupLabels: { alertname: "GpuTemperatureHigh" },
    commonLabels: { alertname: "GpuTemperatureHigh", severity: "critical", gpu: "0" },
    commonAnnotations: {},
    alerts,
    externalUrl: "http://127.0.0.1:9473",
  };
};

describe("receiver payloads", () => {
  it("Slack: a Block Kit message within Slack's limits, coloured by severity, with the group count", () => {
    for (const n of [
      notification("firing"),
      notification("firing", 40),
      notification("resolved", 3),
    ]) {
      const message = slackMessage(n) as { text: string; attachments: { color: string }[] };
      expect(slackProblems(message as unknown as Record<string, unknown>)).toEqual([]);
    }
    const firing = slackMessage(notification("firing", 40)) as {
      text: string;
      attachments: { color: string; blocks: unknown[] }[];
    };
    expect(firing.text).toBe("[FIRING:40] GpuTemperatureHigh");
    expect(firing.attachments[0]!.color).toBe("#E01E5A");
    expect(JSON.stringify(firing)).toContain("40 alert(s) in group");
    expect(JSON.stringify(firing)).toContain("https://vigil.dev/runbooks#test");
    expect(
      (slackMessage(notification("resolved")) as { attachments: { color: string }[] })
        .attachments[0]!.color,
    ).toBe("#2EB67D");
  });

  it("PagerDuty: trigger and resolve events of the Events API v2 with the group as dedup_key", () => {
    const trigger = pagerDutyEvent(notification("firing", 2), ROUTING_KEY) as Record<
      string,
      unknown
    >;
    const resolve = pagerDutyEvent(notification("resolved"), ROUTING_KEY) as Record<
      string,
      unknown
    >;
    expect(pagerDutyProblems(trigger)).toEqual([]);
    expect(pagerDutyProblems(resolve)).toEqual([]);
    expect(trigger).toMatchObject({
      event_action: "trigger",
      dedup_key: "0123456789abcdef",
      payload: { severity: "critical", source: "node-0" },
    });
    expect(resolve).toEqual({
      routing_key: ROUTING_KEY,
      event_action: "resolve",
      dedup_key: "0123456789abcdef",
    });
  });

  it("webhook: Alertmanager's version 4 payload, signed with HMAC-SHA256 over timestamp and body", async () => {
    const got: { body: string; headers: Record<string, unknown> }[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        got.push({ body, headers: req.headers });
        res.end();
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    try {
      process.env.VIGIL_TEST_HOOK_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      process.env.VIGIL_TEST_HOOK_SECRET = "s3cret";
      const send = RECEIVER_KINDS.webhook!.create(
        RECEIVER_KINDS.webhook!.config.parse({
          url: { env: "VIGIL_TEST_HOOK_URL" },
          secret: { env: "VIGIL_TEST_HOOK_SECRET" },
        }),
        { logger: createLogger("t", "silent"), now: () => 1_764_000_000_000 },
      );
      await send(notification("firing"), AbortSignal.timeout(5_000));
      const [{ body, headers }] = got as [(typeof got)[number]];
      const expected = createHmac("sha256", "s3cret").update(`1764000000000.${body}`).digest("hex");
      expect(headers["x-vigil-timestamp"]).toBe("1764000000000");
      expect(headers["x-vigil-signature"]).toBe(`sha256=${expected}`);
      expect(JSON.parse(body)).toEqual(alertmanagerPayload(notification("firing")));
      expect(JSON.parse(body)).toMatchObject({
        version: "4",
        status: "firing",
        receiver: "r",
        alerts: [{ status: "firing", labels: { host: "node-0" }, endsAt: "0001-01-01T00:00:00Z" }],
      });
    } finally {
      server.close();
    }
  });
});

describe("the action hook", () => {
  const logger = createLogger("t", "silent");

  it("refuses a target that is not on the allow-list, naming it", () => {
    const parsed = RECEIVER_KINDS.action!.config.safeParse({
      command: ["/bin/rm", "-rf"],
      allow: ["/usr/local/bin/restart-service"],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toBe("/bin/rm is not on the allow-list");
  });

  it("in dry-run runs nothing, and stops at its rate limit", async () => {
    const config = RECEIVER_KINDS.action!.config.parse({
      command: ["/bin/sh", "-c", "exit 1"],
      allow: ["/bin/sh"],
      rate_limit: { max: 2, per: "1h" },
    });
    const send = RECEIVER_KINDS.action!.create(config, { logger, now: () => 0 });
    await send(notification("firing"), AbortSignal.timeout(1_000)); // would fail if it ran
    await send(notification("firing"), AbortSignal.timeout(1_000));
    await expect(send(notification("firing"), AbortSignal.timeout(1_000))).rejects.toThrow(
      /rate limit/,
    );
  });

  it("runs an allowed command with the notification on stdin when dry_run is off", async () => {
    const config = RECEIVER_KINDS.action!.config.parse({
      command: ["/bin/sh", "-c", "grep -q GpuTemperatureHigh"],
      allow: ["/bin/sh"],
      dry_run: false,
    });
    const send = RECEIVER_KINDS.action!.create(config, { logger, now: () => 0 });
    await expect(send(notification("firing"), AbortSignal.timeout(5_000))).resolves.toBeUndefined();
  });
});

describe("notifier configuration", () => {
  it("names a secret given inline instead of by reference, and an unknown receiver kind", () => {
    const result = alertingSchema.safeParse({
      route: {
        receiver: "chat",
        routes: [{ matchers: ['severity="critical"'], receiver: "pagr" }],
      },
      receivers: [
        { name: "chat", slack: { webhook_url: "https://hooks.slack.com/x" } },
        { name: "mail", fax: {} },
      ],
    });
    const messages = result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^receivers\.0\.slack\.webhook_url: /),
        expect.stringMatching(
          /^receivers\.1\.fax: unknown receiver kind fax \(known: slack, pagerduty, webhook, email, action\)$/,
        ),
      ]),
    );
  });

  it("names a route's receiver that does not exist", () => {
    const result = alertingSchema.safeParse({
      route: {
        receiver: "chat",
        routes: [{ matchers: ['severity="critical"'], receiver: "pagr" }],
      },
      receivers: [{ name: "chat", slack: { webhook_url: { env: "X" } } }],
    });
    expect(result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([
      "route.routes.0.receiver: no receiver named pagr",
    ]);
  });
});

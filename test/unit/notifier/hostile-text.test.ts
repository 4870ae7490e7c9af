// Labels and annotations written by whoever can reach ingest, as each receiver gets them: inert.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import {
  DeliveryError,
  post,
  type Notification,
} from "../../../services/notifier/receivers/api.js";
import { emailContent } from "../../../services/notifier/receivers/email.js";
import { pagerDutyEvent } from "../../../services/notifier/receivers/pagerduty.js";
import { slackMessage } from "../../../services/notifier/receivers/slack.js";
import { signatureVerifier, sign } from "../../../services/notifier/receivers/webhook.js";
import { alert, ROUTING_KEY } from "../../support/notifier.js";
import { mrkdwnTexts } from "../../support/receivers.js";

const HOSTILE = {
  host: "<!channel> <https://evil.example|Click here to re-login> @here",
  team: "a & b\u202Egnp.exe\r\nBcc: victim@example.com",
};

function hostileNotification(): Notification {
  const a = alert("GpuHot", { ...HOSTILE, severity: "critical" });
  a.annotations = {
    summary: `GPU hot on ${HOSTILE.host}`,
    description: "",
    runbook_url: "javascript:alert(document.cookie)",
  };
  return {
    receiver: "r",
    groupKey: "k",
    groupId: "0123456789abcdef",
    status: "firing",
    groupLabels: { alertname: "GpuHot" },
    commonLabels: { alertname: `GpuHot <!here>`, ...HOSTILE },
    commonAnnotations: {},
    alerts: [a],
    externalUrl: "http://127.0.0.1:9473",
  };
}

describe("hostile labels at each receiver", () => {
  it("Slack: no link, mention or channel ping can come from a label, and no javascript: button", () => {
    const message = slackMessage(hostileNotification()) as { text: string };
    const texts = [message.text, ...mrkdwnTexts(message)];
    expect(texts.length).toBeGreaterThan(3);
    for (const text of texts) {
      expect(text).not.toMatch(/<[!@#]|<https?:/);
      expect(text).not.toMatch(/@(here|channel)\b/);
    }
    expect(JSON.stringify(message)).toContain(
      "&lt;!channel&gt; &lt;https://evil.example|Click here",
    );
    expect(JSON.stringify(message)).not.toContain("javascript:");
  });

  it("PagerDuty: source and summary are single plain lines, without bidi overrides", () => {
    const event = pagerDutyEvent(hostileNotification(), ROUTING_KEY) as {
      payload: Record<string, string>;
      links?: unknown;
    };
    expect(event.payload.source).toBe(HOSTILE.host);
    for (const field of ["summary", "source", "group", "class"])
      expect(event.payload[field]).not.toMatch(/[\r\n\u202E]/);
    expect(event.links).toBeUndefined();
  });

  it("e-mail: a one-line subject and escaped HTML with no javascript: link", () => {
    const n = hostileNotification();
    n.commonLabels.alertname = "GpuHot\r\nBcc: victim@example.com";
    const mail = emailContent(n);
    expect(mail.subject).toBe("[FIRING:1] GpuHot Bcc: victim@example.com");
    expect(mail.html).not.toMatch(/<https|<!channel|javascript:/);
    expect(mail.html).toContain("&lt;!channel&gt;");
  });
});

describe("webhook signatures", () => {
  const secret = "whsec-test";
  const body = '{"status":"firing"}';

  it("accept a fresh request once, and refuse its replay, an old one and a forged one", () => {
    let clock = 1_800_000_000_000;
    const verify = signatureVerifier(secret, { now: () => clock });
    const at = String(clock);
    expect(verify(at, sign(secret, at, body), body)).toBeUndefined();
    expect(verify(at, sign(secret, at, body), body)).toMatch(/replay/);
    const weekOld = String(clock - 7 * 86_400_000);
    expect(verify(weekOld, sign(secret, weekOld, body), body)).toMatch(/beyond 300s/);
    expect(verify(at, sign("other", at, body), body)).toMatch(/does not match/);
    expect(verify(undefined, sign(secret, at, body), body)).toMatch(/timestamp/);
    // Long after, the replay memory is pruned; an old signature is still refused by its age.
    clock += 3_600_000;
    expect(verify(at, sign(secret, at, body), body)).toMatch(/beyond/);
  });
});

describe("delivery errors", () => {
  const signal = () => AbortSignal.timeout(2_000);

  it("refuse an invalid webhook URL for good, without quoting it", async () => {
    const error = await post("hooks.slack.com/services/T0/B0/S3CR3T", "{}", {}, signal()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).retryable).toBe(false);
    expect(
      JSON.stringify({ m: (error as Error).message, s: (error as Error).stack }),
    ).not.toContain("S3CR3T");
  });

  it("retry an unreachable receiver, naming only its origin", async () => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as AddressInfo;
    await new Promise((done) => server.close(done));
    const error = (await post(`http://127.0.0.1:${port}/services/S3CR3T`, "{}", {}, signal()).catch(
      (e: unknown) => e,
    )) as DeliveryError;
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(
      new RegExp(`^POST http://127\\.0\\.0\\.1:${port}/…: fetch failed \\(ECONNREFUSED\\)$`),
    );
  });
});

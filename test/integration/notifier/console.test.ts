// The web console in a real browser (headless Chromium, playwright-core) against the notifier on
// the real broker: an on-call engineer silences an alert from its row, acknowledges and takes
// back an acknowledgement, and browses a dead letter and replays it. With VIGIL_SCREENSHOTS=1 the
// pages are written to docs/console/ (the README shows them).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { deadLetterRecord } from "../../../services/chassis/dead-letter.js";
import type { Service } from "../../../services/chassis/service.js";
import { startNotifier } from "../../../services/notifier/main.js";
import { notifierSettings } from "../../../services/notifier/settings.js";
import { launchBrowser } from "../../support/browser.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, waitFor } from "../../support/kafka.js";
import {
  alert,
  notifierConfig,
  notifierTopics,
  publishAlerts,
  testEnv,
  type NotifierTopics,
} from "../../support/notifier.js";
import { startReceivers, type Receivers } from "../../support/receivers.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const SHOTS = process.env.VIGIL_SCREENSHOTS
  ? join(import.meta.dirname, "../../../docs/console")
  : undefined;

describe("the web console in a browser", () => {
  let receivers: Receivers;
  let topics: NotifierTopics;
  let notifier: Service;
  let browser: Browser;
  let page: Page;
  let base: string;
  let ingestTopic: string;
  const hostA = uniqueName("gpu-a");
  const hostB = uniqueName("gpu-b");
  const hot = alert("GpuTemperatureHigh", { host: hostA, gpu: "3", cluster: "train-a" }, "firing", {
    value: 91.5,
    threshold: 85,
    annotations: {
      summary: `GPU 3 on ${hostA} at 91.5 °C`,
      description: "above 85 °C for 5m",
      runbook_url: "https://runbooks.example/gpu-hot",
    },
  });
  const ecc = alert("GpuEccUncorrectable", { host: hostB, gpu: "0", severity: "major" }, "firing", {
    annotations: { summary: `<b>ECC</b> errors on ${hostB}`, description: "", runbook_url: null },
  });
  const shot = async (name: string) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    // The health page lists every consumer group on the broker: its first screen is enough.
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: name !== "health" });
  };

  beforeAll(async () => {
    await admin.connect();
    receivers = await startReceivers();
    Object.assign(process.env, testEnv(receivers.url));
    topics = await notifierTopics(admin);
    ingestTopic = (await createTopics(admin, 1, "console-ingest"))[0]!;
    notifier = await startNotifier(
      notifierSettings.parse(
        notifierConfig(endpoint, uniqueName("console").toLowerCase(), topics, receivers.url),
      ),
    );
    base = `http://127.0.0.1:${notifier.http.port}`;
    await publishAlerts(kafka, topics, [hot, ecc]);
    // A sample the pipeline could not read, as a pipeline dead-letters it.
    const producer = kafka.producer();
    await producer.connect();
    const letter = deadLetterRecord(topics.deadLetter, {
      originalTopic: ingestTopic!,
      partition: 0,
      offset: 41,
      key: Buffer.from("gpu-7"),
      value: Buffer.from("gpu_temp,host=gpu-7 value=not-a-number 1700000000000000000"),
      headers: { "content-type": Buffer.from("text/plain") },
      failedStage: "pipeline:normalise",
      errorCode: "VGL_INVALID_SAMPLE",
      errorMessage: 'line 1: field "value": expected a number, got "not-a-number"',
      time: Date.now(),
    });
    await producer.send({
      topic: letter.topic,
      acks: -1,
      messages: [{ key: letter.key, value: letter.value as Buffer }],
    });
    await producer.disconnect();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(`${base}/`);
    await page.fill("#me", "sre@example.org");
    await page.press("#me", "Tab");
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    // Both alerts routed, grouped and notified
    await waitFor("both alerts on the page", async () => {
      await page.goto(`${base}/console/#/alerts`);
      await page.reload();
      await page.waitForSelector("main[data-page]");
      // The critical one is on two routes (pager, continue; chat): three rows, two alerts.
      const rows = await page
        .locator('[data-testid="alert"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-fingerprint")));
      return new Set(rows).size === 2;
    }).catch(async (error: unknown) => {
      throw new Error(
        `${(error as Error).message}; the page shows: ${await page.innerText("main")}; errors: ${problems.join("; ")}`,
      );
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await notifier?.stop();
    await receivers.close();
    await admin.disconnect();
  });

  const row = (fingerprint: string) =>
    page.locator(`tr[data-fingerprint="${fingerprint}"]`).first();

  it("shows firing alerts grouped as routed, with value, runbook and labels, and text left as text", async () => {
    await page.goto(`${base}/console/#/alerts`);
    await row(hot.fingerprint).waitFor();
    const text = await row(hot.fingerprint).innerText();
    expect(text).toContain(`GPU 3 on ${hostA} at 91.5 °C`);
    expect(text).toContain("91.50 (threshold 85)");
    expect(text).toContain(`host=${hostA}`);
    expect(await row(hot.fingerprint).locator('a:text("runbook")').getAttribute("href")).toBe(
      "https://runbooks.example/gpu-hot",
    );
    // A summary with markup shows the markup as characters; no <b> element is made from it.
    expect(await row(ecc.fingerprint).innerText()).toContain(`<b>ECC</b> errors on ${hostB}`);
    expect(await row(ecc.fingerprint).locator("b").count()).toBe(0);
    // One group per alertname (the route's group_by)
    expect(await page.locator('[data-testid="group"]').count()).toBeGreaterThanOrEqual(2);
    await shot("alerts");
  });

  it("creates a silence from an alert, prefilled from its labels, with a preview of what it matches", async () => {
    await page.goto(`${base}/console/#/alerts`);
    await row(hot.fingerprint).locator('[data-testid="silence"]').click();
    await page.waitForSelector('[data-testid="preview-count"]');
    const matchers = await page.inputValue('[data-testid="matchers"]');
    expect(matchers).toContain(`host="${hostA}"`);
    expect(await page.innerText('[data-testid="preview-count"]')).toBe(
      "Matches 1 firing alert(s) now.",
    );
    // Narrow it to the host only: still that one alert
    await page.fill('[data-testid="matchers"]', `host="${hostA}"\ngpu=~"[0-9]+"`);
    await waitFor("the preview to follow", async () =>
      (await page.innerText('[data-testid="preview-count"]')).includes("Matches 1"),
    );
    await page.fill('[data-testid="comment"]', "reseating the GPU");
    await shot("silence-new");
    await page.click('[data-testid="save-silence"]');
    await page.waitForSelector('[data-testid="silence-row"]');
    const silences = (await (await fetch(`${base}/api/v2/silences`)).json()) as Array<{
      id: string;
      createdBy: string;
      comment: string;
      matchers: { name: string; value: string; isRegex: boolean }[];
      status: { state: string };
    }>;
    const made = silences.find((s) => s.comment === "reseating the GPU")!;
    expect(made).toMatchObject({ createdBy: "sre@example.org", status: { state: "active" } });
    expect(made.matchers).toEqual([
      { name: "host", value: hostA, isRegex: false, isEqual: true },
      { name: "gpu", value: "[0-9]+", isRegex: true, isEqual: true },
    ]);
    await shot("silences");
    await page.goto(`${base}/console/#/alerts`);
    await waitFor("the alert shown silenced", async () => {
      await page.goto(`${base}/console/#/alerts?${Date.now()}`);
      await page.goto(`${base}/console/#/alerts`);
      await row(hot.fingerprint).waitFor();
      return (await row(hot.fingerprint).innerText()).includes("silenced");
    });
    // …and expired again from the silences page
    await page.goto(`${base}/console/#/silences`);
    await page.locator(`tr[data-id="${made.id}"] [data-testid="expire"]`).click();
    await waitFor("the silence expired", async () => {
      const one = (await (await fetch(`${base}/api/v2/silence/${made.id}`)).json()) as {
        status: { state: string };
      };
      return one.status.state === "expired";
    });
  });

  it("acknowledges an alert and takes the acknowledgement back, and shows what each receiver was told", async () => {
    await page.goto(`${base}/console/#/alert/${ecc.fingerprint}`);
    await page.waitForSelector('[data-testid="alert-facts"]');
    await page.click('[data-testid="ack"]');
    await page.waitForSelector('[data-testid="acked"]');
    expect(await page.innerText('[data-testid="acked"]')).toBe("acknowledged by sre@example.org");
    const acked = (await (await fetch(`${base}/api/v1/alerts`)).json()) as {
      alerts: { alert: { fingerprint: string }; acknowledgedBy?: string }[];
    };
    expect(acked.alerts.find((a) => a.alert.fingerprint === ecc.fingerprint)?.acknowledgedBy).toBe(
      "sre@example.org",
    );
    // The notification history: the chat receiver was told it fired
    await waitFor("the notification history", async () => {
      await page.goto(`${base}/console/#/alerts`);
      await page.goto(`${base}/console/#/alert/${ecc.fingerprint}`);
      await page.waitForSelector('[data-testid="alert-facts"]');
      return (await page.locator('[data-testid="history"] tbody tr').count()) > 0;
    });
    expect(await page.innerText('[data-testid="history"]')).toMatch(/chat\s+firing/);
    await shot("alert");
    await page.click('[data-testid="unack"]');
    await page.waitForSelector('[data-testid="ack"]');
    const after = (await (await fetch(`${base}/api/v1/alerts`)).json()) as typeof acked;
    expect(
      after.alerts.find((a) => a.alert.fingerprint === ecc.fingerprint)?.acknowledgedBy,
    ).toBeUndefined();
  });

  it("refuses a state change a page of another site sends through the browser", async () => {
    const forged = await fetch(`${base}/api/v1/alerts/${ecc.fingerprint}/ack`, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "text/plain" },
      body: JSON.stringify({ by: "mallory" }),
    });
    expect(forged.status).toBe(403);
    const state = (await (await fetch(`${base}/api/v1/alerts`)).json()) as {
      alerts: { alert: { fingerprint: string }; acknowledgedBy?: string }[];
    };
    expect(
      state.alerts.find((a) => a.alert.fingerprint === ecc.fingerprint)?.acknowledgedBy,
    ).toBeUndefined();
  });

  it("browses a dead letter, its reason and record, and replays it to its topic", async () => {
    await waitFor("the dead letter on the health page", async () => {
      await page.goto(`${base}/console/#/alerts`);
      await page.goto(`${base}/console/#/health`);
      await page.waitForSelector('[data-testid="reasons"]');
      return (await page.locator('[data-testid="letter"]').count()) === 1;
    });
    expect(await page.innerText('[data-testid="reasons"]')).toMatch(
      /VGL_INVALID_SAMPLE\s+pipeline:normalise\s+1/,
    );
    expect(await page.innerText('[data-testid="groups"]')).toContain("vigil-notifier-");
    await shot("health");
    await page.locator('[data-testid="letter"] a').click();
    await page.waitForSelector('[data-testid="letter-facts"]');
    expect(await page.innerText('[data-testid="letter-reason"]')).toBe(
      'line 1: field "value": expected a number, got "not-a-number"',
    );
    expect(await page.innerText('[data-testid="letter-facts"]')).toContain(
      "gpu_temp,host=gpu-7 value=not-a-number",
    );
    await shot("dead-letter");
    await page.click('[data-testid="replay"]');
    await page.waitForSelector(`#flash :text("Replayed to ${ingestTopic}.")`);
    // The record is back on its topic, bytes and key as they were, saying where it came from.
    const consumer = kafka.consumer({ groupId: uniqueName("console-replay") });
    await consumer.connect();
    await consumer.subscribe({ topics: [ingestTopic!], fromBeginning: true });
    const got: { key: string; value: string; from: string }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) =>
        void got.push({
          key: message.key!.toString(),
          value: message.value!.toString(),
          from: message.headers!["vigil-replayed-from"]!.toString(),
        }),
    });
    await waitFor("the replayed record", async () => got.length === 1);
    await consumer.disconnect();
    expect(got[0]).toMatchObject({
      key: "gpu-7",
      value: "gpu_temp,host=gpu-7 value=not-a-number 1700000000000000000",
      from: expect.stringMatching(new RegExp(`^${topics.deadLetter}:0:\\d+$`)),
    });
  });
});

// Labels written through ingest by whoever can reach it, followed to the people they would page:
// HTTP ingest → Kafka → detector → alert → notifier → the local Slack and PagerDuty stand-ins.
// What arrives must be text, not markup: no live link, mention or channel ping.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Service } from "../../../services/chassis/service.js";
import { startDetector } from "../../../services/detector/main.js";
import { detectorSettings } from "../../../services/detector/settings.js";
import { startIngest } from "../../../services/http-ingest/main.js";
import { ingestSettings } from "../../../services/http-ingest/settings.js";
import { startNotifier } from "../../../services/notifier/main.js";
import { notifierSettings } from "../../../services/notifier/settings.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, waitFor } from "../../support/kafka.js";
import { notifierConfig, notifierTopics, testEnv } from "../../support/notifier.js";
import { mrkdwnTexts, startReceivers, type Receivers } from "../../support/receivers.js";
import { chassisFor } from "../../support/services.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const TOKEN = "hostile-labels-token";

const RULES = `
rules:
  - name: ProbeFiring
    select: hostile_probe
    when: "> 0"
    severity: critical
    annotations:
      summary: "Probe on {{ $labels.host }} says {{ $labels.note }}"
      runbook: https://vigil.dev/runbooks#probe
`;

describe("hostile labels from ingest to the people paged", () => {
  let receivers: Receivers;
  beforeAll(async () => {
    await admin.connect();
    receivers = await startReceivers();
    Object.assign(process.env, testEnv(receivers.url));
  });
  afterAll(async () => {
    await receivers.close();
    await admin.disconnect();
  });

  it("reach Slack and PagerDuty as inert text, with no link, mention or channel ping", async () => {
    const topics = await notifierTopics(admin);
    const [metrics] = await createTopics(admin, 3, "hostile-metrics");
    const dir = mkdtempSync(join(tmpdir(), "vigil-hostile-"));
    writeFileSync(join(dir, "probe.rules.yaml"), RULES);
    process.env.VIGIL_TEST_HOSTILE_TOKEN = TOKEN;
    const probe = uniqueName("probe");
    const services: Service[] = [];
    try {
      services.push(
        await startIngest(
          ingestSettings.parse({
            ...chassisFor(endpoint),
            ingest: {
              port: 0,
              token: { env: "VIGIL_TEST_HOSTILE_TOKEN" },
              metricsTopic: metrics,
              logsTopic: metrics,
            },
          }),
        ),
        await startDetector(
          detectorSettings.parse({
            ...chassisFor(endpoint, topics.deadLetter),
            detector: {
              name: uniqueName("det").toLowerCase(),
              inputs: [metrics],
              rules: [join(dir, "probe.rules.yaml")],
              output: topics.alerts,
              state: topics.alertsState,
              sessionTimeout: "6s",
            },
          }),
        ),
        await startNotifier(
          notifierSettings.parse(
            notifierConfig(endpoint, uniqueName("nt").toLowerCase(), topics, receivers.url),
          ),
        ),
      );
      const ingest = services[0] as Awaited<ReturnType<typeof startIngest>>;
      // Line protocol escapes spaces and commas in tag values with a backslash.
      const tag = (value: string) => value.replace(/([ ,=])/g, "\\$1");
      const host = "<!channel> <https://evil.example/login|Click here to keep your access>";
      const note = "@here <@U024BE7LH> & <#C024BE7LR>";
      const line = `hostile_probe,host=${tag(host)},note=${tag(note)},probe=${probe} value=1`;
      const posted = await fetch(`http://127.0.0.1:${ingest.ingestPort}/write`, {
        method: "POST",
        body: line,
        headers: { authorization: `Token ${TOKEN}` },
      });
      expect(posted.status).toBe(204);

      const slack = () =>
        receivers.of("/slack/T000/B000/XXXX").filter((r) => JSON.stringify(r.body).includes(probe));
      const pages = () =>
        receivers.of("/pagerduty").filter((r) => JSON.stringify(r.body).includes(probe));
      await waitFor(
        "the Slack message and the page",
        async () => slack().length > 0 && pages().length > 0,
        30_000,
      );
      const message = slack()[0]!.body as { text: string };
      const texts = [message.text, ...mrkdwnTexts(message)];
      for (const text of texts) {
        expect(text).not.toMatch(/<[!@#]|<https?:/);
        expect(text).not.toMatch(/@(here|channel)\b/);
      }
      const all = texts.join("\n");
      expect(all).toContain("&lt;!channel&gt; &lt;https://evil.example/login|Click here");
      expect(all).toContain("&lt;@U024BE7LH&gt; &amp; &lt;#C024BE7LR&gt;");

      const page = pages()[0]!.body as { payload: { source: string; summary: string } };
      expect(page.payload.source).toBe(host);
      expect(page.payload.summary).toBe(`Probe on ${host} says ${note}`);
    } finally {
      for (const service of services.reverse()) await service.stop();
    }
  }, 90_000);
});

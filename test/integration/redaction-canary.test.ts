// The redaction canary: every secret a deploy can hold set to a unique value, the services run as
// real processes (logs at debug) and driven down the paths that once leaked — a webhook URL that
// does not parse, receivers that are unreachable, wrong tokens, a wrong Kafka password. No canary
// may appear in any log line, dead letter, metric or error answer.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { stringify } from "yaml";
import { freePort, kafkaClient, uniqueName } from "../support/clients.js";
import { readTopic, spawnService, waitFor, type ChildService } from "../support/kafka.js";
import { alert, notifierTopics, publishAlerts } from "../support/notifier.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const canary = (what: string) => `CANARY${what}${Math.random().toString(36).slice(2, 10)}`;

describe("the redaction canary", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("finds no secret in any log line, dead letter, metric or error answer", async () => {
    const closed = await freePort();
    const secrets = {
      // Unparseable (no scheme): Node's fetch quotes such a URL whole in its error.
      SLACK_WEBHOOK_URL: `hooks.slack.com/services/T0/B0/${canary("slack")}`,
      PAGERDUTY_ROUTING_KEY: canary("pd"),
      WEBHOOK_URL: `http://127.0.0.1:${closed}/hook/${canary("hookpath")}`,
      WEBHOOK_SECRET: canary("hooksecret"),
      VIGIL_API_TOKEN: canary("api"),
      VIGIL_INGEST_TOKEN: canary("ingest"),
      SCRAM_PASSWORD: canary("scram"),
    };
    const topics = await notifierTopics(admin);
    const dir = mkdtempSync(join(tmpdir(), "vigil-canary-"));
    const notifierConfig = join(dir, "notifier.yaml");
    writeFileSync(
      notifierConfig,
      stringify({
        api: { token: { env: "VIGIL_API_TOKEN" } },
        notifier: {
          name: uniqueName("canary").toLowerCase(),
          alerts: topics.alerts,
          alertsState: topics.alertsState,
          log: topics.log,
          silences: topics.silences,
          acks: topics.acks,
          remediation: topics.remediation,
          tick: "200ms",
          sessionTimeout: "6s",
        },
        topics: { deadLetter: topics.deadLetter },
        delivery: { initialBackoff: "100ms", maxBackoff: "300ms", retryFor: "2s" },
        alerting: {
          route: {
            receiver: "chat",
            group_by: ["alertname"],
            group_wait: "0s",
            routes: [
              { matchers: ['severity="critical"'], receiver: "chat", continue: true },
              { matchers: ['severity="critical"'], receiver: "pager", continue: true },
              { matchers: ['severity="critical"'], receiver: "hook" },
            ],
          },
          receivers: [
            { name: "chat", slack: { webhook_url: { env: "SLACK_WEBHOOK_URL" } } },
            {
              name: "pager",
              pagerduty: {
                routing_key: { env: "PAGERDUTY_ROUTING_KEY" },
                url: `http://127.0.0.1:${closed}/v2/enqueue`,
              },
            },
            {
              name: "hook",
              webhook: { url: { env: "WEBHOOK_URL" }, secret: { env: "WEBHOOK_SECRET" } },
            },
          ],
        },
      }),
    );
    const ingestPort = await freePort();
    const children: ChildService[] = [];
    const logs: string[] = [];
    const watch = (child: ChildService) => {
      child.child.stdout!.on("data", (c: Buffer) => logs.push(c.toString()));
      children.push(child);
      return child;
    };
    const answers: string[] = [];
    try {
      const notifier = watch(
        spawnService("services/notifier/main.ts", endpoint, {
          ...secrets,
          VIGIL_CONFIG: notifierConfig,
          VIGIL__LOG__LEVEL: "debug",
        }),
      );
      const ingest = watch(
        spawnService("services/http-ingest/main.ts", endpoint, {
          ...secrets,
          VIGIL__LOG__LEVEL: "debug",
          VIGIL__INGEST__PORT: String(ingestPort),
          VIGIL__INGEST__TOKEN__ENV: "VIGIL_INGEST_TOKEN",
          VIGIL__INGEST__METRICS_TOPIC: topics.alerts,
        }),
      );
      // A wrong Kafka password: the service stops, saying so.
      const refused = watch(
        spawnService("services/log-pipeline/main.ts", endpoint, {
          ...secrets,
          VIGIL__LOG__LEVEL: "debug",
          ...(endpoint.secure && {
            VIGIL__KAFKA__BROKERS: endpoint.secure.brokers.join(","),
            VIGIL__KAFKA__TLS__CA__FILE: endpoint.secure.caFile,
            VIGIL__KAFKA__TLS__SERVERNAME: "localhost",
          }),
          VIGIL__KAFKA__SASL__MECHANISM: "scram-sha-512",
          VIGIL__KAFKA__SASL__USERNAME: "vigil",
          VIGIL__KAFKA__SASL__PASSWORD__ENV: "SCRAM_PASSWORD",
        }),
      );
      const [notifierPort, ingestHealth] = await Promise.all([notifier.port, ingest.port]);
      await waitFor(
        "both services ready",
        async () =>
          (await fetch(`http://127.0.0.1:${notifierPort}/readyz`)).ok &&
          (await fetch(`http://127.0.0.1:${ingestHealth}/readyz`)).ok,
        30_000,
      );

      // Wrong tokens at every door, and the errors they get.
      for (const [url, init] of [
        [`http://127.0.0.1:${ingestPort}/write`, { method: "POST", body: "m v=1" }],
        [
          `http://127.0.0.1:${ingestPort}/write`,
          { method: "POST", body: "m v=1", headers: { authorization: "Token nope" } },
        ],
        [`http://127.0.0.1:${notifierPort}/api/v1/silences`, { method: "GET" }],
        [
          `http://127.0.0.1:${notifierPort}/api/v1/silences`,
          {
            method: "POST",
            body: "{",
            headers: { authorization: `Bearer ${secrets.VIGIL_API_TOKEN}` },
          },
        ],
      ] as const) {
        const response = await fetch(url, init as RequestInit);
        answers.push(`${response.status} ${await response.text()}`);
      }
      expect(answers.map((a) => a.slice(0, 3))).toEqual(["401", "401", "401", "400"]);

      // An alert every receiver fails to deliver: refused (bad URL) or given up (unreachable).
      await publishAlerts(kafka, topics, [alert(uniqueName("Canary"), { severity: "critical" })]);
      await waitFor(
        "three undeliverable notifications dead-lettered",
        async () => (await readTopic(kafka, topics.deadLetter)).length >= 3,
        30_000,
      );
      await refused.exited;
      for (const port of [notifierPort, ingestHealth])
        answers.push(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    } finally {
      for (const child of children) child.child.kill("SIGTERM");
      await Promise.all(children.map((c) => c.exited));
    }
    const letters = (await readTopic(kafka, topics.deadLetter)).map((r) =>
      r.value!.toString("latin1"),
    );
    const everything = [...logs, ...children.map((c) => c.stderr()), ...letters, ...answers].join(
      "\n",
    );
    expect(everything).toMatch(/notification not delivered/);
    expect(everything).toMatch(/SASL SCRAM SHA512 authentication failed/i);
    for (const [name, value] of Object.entries(secrets)) {
      const secret = value.slice(value.indexOf("CANARY"));
      expect(everything.includes(secret), `${name} leaked`).toBe(false);
    }
  }, 120_000);
});

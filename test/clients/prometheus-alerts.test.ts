// A real Prometheus (built with go install at a tagged module version) uses the notifier as its
// Alertmanager: its alerting rule fires, it posts the alert to /api/v2/alerts every evaluation,
// and the receiver is paged once — through the alert topic, grouped and logged like any alert.
// In `npm run test:faults` (called by .ci/run): building Prometheus takes minutes the first time.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, kafkaClient, uniqueName } from "../support/clients.js";
import { goTool, PROMETHEUS } from "../support/go-tools.js";
import { spawnService, waitFor, type ChildService } from "../support/kafka.js";
import { notifierTopics, ROUTING_KEY } from "../support/notifier.js";
import { startReceivers, type Receivers } from "../support/receivers.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("Prometheus sending alerts to the notifier", () => {
  let receivers: Receivers;
  let notifier: ChildService;
  let prometheus: ReturnType<typeof spawn> | undefined;
  let prometheusBin: string;
  const dir = mkdtempSync(join(tmpdir(), "vigil-prom-"));

  beforeAll(async () => {
    [prometheusBin] = await Promise.all([goTool(PROMETHEUS), admin.connect()]);
    receivers = await startReceivers();
    const topics = await notifierTopics(admin);
    const { deadLetter, ...names } = topics;
    writeFileSync(
      join(dir, "alertmanager.yml"),
      `route:
  receiver: pager
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
receivers:
  - name: pager
    pagerduty_configs:
      - routing_key: ${ROUTING_KEY}
        url: ${receivers.url}/pagerduty
`,
    );
    writeFileSync(
      join(dir, "notifier.json"),
      JSON.stringify({
        log: { level: "info" },
        topics: { deadLetter },
        notifier: { name: uniqueName("prom").toLowerCase(), ...names, tick: "200ms" },
        alertmanager: { config: join(dir, "alertmanager.yml") },
      }),
    );
    notifier = spawnService("services/notifier/main.ts", endpoint, {
      VIGIL_CONFIG: join(dir, "notifier.json"),
    });
    await waitFor(
      "the notifier to be ready",
      async () =>
        (await fetch(`http://127.0.0.1:${await notifier.port}/-/ready`).catch(() => undefined))
          ?.ok ?? false,
      60_000,
    );
  }, 900_000);

  afterAll(async () => {
    prometheus?.kill("SIGTERM");
    notifier.child.kill("SIGTERM");
    await notifier.exited;
    await receivers.close();
    await admin.disconnect();
  });

  it("pages once for a firing Prometheus rule, however often Prometheus re-sends it", async () => {
    const cluster = uniqueName("train");
    writeFileSync(
      join(dir, "rules.yml"),
      `groups:
  - name: vigil
    interval: 1s
    rules:
      - alert: TrainingStalled
        expr: vector(1)
        labels: { severity: critical, cluster: "${cluster}" }
        annotations:
          summary: "Training on ${cluster} made no progress"
          runbook_url: https://runbooks.example/training-stalled
`,
    );
    writeFileSync(
      join(dir, "prometheus.yml"),
      `global: { evaluation_interval: 1s }
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - api_version: v2
      static_configs: [{ targets: ["127.0.0.1:${await notifier.port}"] }]
`,
    );
    const port = await freePort();
    let logs = "";
    prometheus = spawn(
      prometheusBin,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Re-send firing alerts every second (default: a minute), so the test sees many.
        "--rules.alert.resend-delay=1s",
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stderr!.on("data", (c: Buffer) => (logs += c.toString()));
    const pages = () =>
      receivers
        .of("/pagerduty")
        .filter(
          (r) => JSON.stringify(r.body).includes(cluster) && r.body.event_action === "trigger",
        );
    await waitFor("the page", async () => pages().length >= 1, 60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; Prometheus said:\n${logs.slice(-3000)}`);
    });
    await sleep(6_000); // Prometheus re-sends every second meanwhile
    expect(pages()).toHaveLength(1);
    expect(logs).not.toMatch(/Error sending alert|error sending alerts/i);
    const listed = (await (
      await fetch(
        `http://127.0.0.1:${await notifier.port}/api/v2/alerts?filter=${encodeURIComponent(`cluster="${cluster}"`)}`,
      )
    ).json()) as Array<{ labels: Record<string, string>; generatorURL?: string }>;
    expect(listed).toHaveLength(1);
    expect(listed[0]!.labels).toMatchObject({ alertname: "TrainingStalled", cluster });
    expect(listed[0]!.generatorURL).toContain(`:${port}/graph?g0.expr=`);
  });
});

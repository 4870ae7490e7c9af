// The notifier as real processes: killed with kill -9 while alerts fire and started again, it
// pages nobody again before repeat_interval; two instances in one consumer group page once per
// incident, and when the active one is killed the other takes over without paging again.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { recordCount, spawnService, waitFor, type ChildService } from "../../support/kafka.js";
import {
  alert,
  notifierConfig,
  notifierTopics,
  publishAlerts,
  testEnv,
} from "../../support/notifier.js";
import { startReceivers, type Receivers } from "../../support/receivers.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("notifier restarts and replicas", () => {
  let receivers: Receivers;
  beforeAll(async () => {
    await admin.connect();
    receivers = await startReceivers();
  });
  afterAll(async () => {
    await receivers.close();
    await admin.disconnect();
  });

  async function setup() {
    const topics = await notifierTopics(admin);
    const file = join(mkdtempSync(join(tmpdir(), "vigil-notifier-")), "notifier.json");
    const config = notifierConfig(endpoint, uniqueName("nf").toLowerCase(), topics, receivers.url);
    // Children announce their port in the "service started" line, logged at info.
    writeFileSync(file, JSON.stringify({ ...config, log: { level: "info" } }));
    const start = (): ChildService =>
      spawnService("services/notifier/main.ts", endpoint, {
        VIGIL_CONFIG: file,
        ...testEnv(receivers.url),
      });
    return { topics, start };
  }
  const pagesFor = (host: string) =>
    receivers
      .of("/pagerduty")
      .filter((r) => JSON.stringify(r.body).includes(host) && r.body.event_action === "trigger");
  const kill = async (service: ChildService) => {
    service.child.kill("SIGKILL");
    await service.exited;
  };
  /**
   * Waits until the notification log holds what was sent (pager and chat). A crash between a
   * delivery and its log entry sends that notification again after a restart — at least once,
   * never lost — so the kills below come once the log has it, as in a crash "while alerts fire".
   */
  const logged = (topic: string) =>
    waitFor("the notification log entries", async () => (await recordCount(admin, topic)) >= 2);
  /** Whether the instance is the active one; undefined while its API is not up yet. */
  const isActive = async (service: ChildService) => {
    const response = await fetch(`http://127.0.0.1:${await service.port}/api/v1/alerts`);
    return response.ok ? ((await response.json()) as { active: boolean }).active : undefined;
  };
  const serving = async (service: ChildService) => (await isActive(service)) !== undefined;
  /** Two instances in one group: the first active, the second's API up (standing by). */
  async function twoReplicas() {
    const { topics, start } = await setup();
    const first = start();
    await first.port;
    await waitFor(
      "the first instance to become active",
      async () => (await isActive(first)) === true,
    );
    const second = start();
    await waitFor("the second instance's API", () => serving(second)).catch(async (error) => {
      await Promise.all([kill(first), kill(second)]);
      throw error;
    });
    return { topics, first, second };
  }

  it("pages nobody again before repeat_interval after a kill -9 and restart while alerts fire", async () => {
    const { topics, start } = await setup();
    let notifier = start();
    try {
      await notifier.port;
      const host = uniqueName("gpu");
      const firing = alert("GpuTemperatureHigh", { host });
      await publishAlerts(kafka, topics, [firing]);
      await waitFor("the page", async () => pagesFor(host).length === 1);
      await logged(topics.log);
      await kill(notifier);
      notifier = start();
      await notifier.port;
      await waitFor(
        "the restarted notifier to become active",
        async () => (await isActive(notifier)) === true,
      );
      await publishAlerts(kafka, topics, [{ ...firing, resend: true }]);
      await sleep(6_000); // group_wait 1 s, group_interval 2 s: several chances to page again
      expect(pagesFor(host)).toHaveLength(1);
    } finally {
      await kill(notifier);
    }
  }, 90_000);

  it("pages once per incident with two instances in one group, and once more only for a new incident after the active one is killed", async () => {
    const { topics, first, second } = await twoReplicas();
    try {
      await sleep(2_000);
      expect([await isActive(first), await isActive(second)]).toEqual([true, false]);
      const host = uniqueName("gpu");
      await publishAlerts(kafka, topics, [alert("GpuEccErrorsIncreasing", { host })]);
      await waitFor("the page", async () => pagesFor(host).length === 1);
      await logged(topics.log);
      await kill(first);
      await waitFor(
        "the standby to take over",
        async () => (await isActive(second)) === true,
        30_000,
      );
      const other = uniqueName("gpu");
      await publishAlerts(kafka, topics, [alert("GpuThrottling", { host: other })]);
      await waitFor("the new incident's page", async () => pagesFor(other).length === 1);
      await sleep(5_000);
      expect(pagesFor(host)).toHaveLength(1);
      expect(pagesFor(other)).toHaveLength(1);
    } finally {
      await kill(first);
      await kill(second);
    }
  }, 120_000);
  it("answers every read on either replica behind a round-robin client with the firing alerts, saying which replica answered", async () => {
    const { topics, first, second } = await twoReplicas();
    try {
      const host = uniqueName("gpu");
      const firing = [alert("GpuTemperatureHigh", { host }), alert("GpuThrottling", { host })];
      await publishAlerts(kafka, topics, firing);
      await waitFor("the page", async () => pagesFor(host).length >= 1);
      const ports = [await first.port, await second.port];
      let turn = 0;
      /** A load balancer's round robin: each read goes to the next replica. */
      const read = async (path: string) => {
        const port = ports[turn++ % ports.length]!;
        const response = await fetch(`http://127.0.0.1:${port}${path}`);
        return { replica: response.headers.get("x-vigil-replica"), body: await response.json() };
      };
      const wanted = firing.map((a) => a.labels.alertname).sort();
      await waitFor("both replicas to list the firing alerts", async () => {
        const [a, b] = [await read("/api/v2/alerts"), await read("/api/v2/alerts")];
        return [a, b].every(
          (r) =>
            (r.body as { labels: { host: string } }[]).filter((x) => x.labels.host === host)
              .length === 2,
        );
      });
      const replicas = new Set<string | null>();
      for (let i = 0; i < 6; i++) {
        const alerts = await read("/api/v2/alerts?filter=" + encodeURIComponent(`host="${host}"`));
        replicas.add(alerts.replica);
        expect(
          (alerts.body as { labels: Record<string, string>; status: { state: string } }[])
            .map((x) => `${x.labels.alertname}:${x.status.state}`)
            .sort(),
        ).toEqual(wanted.map((name) => `${name}:active`));
        const groups = await read("/api/v2/alerts/groups");
        replicas.add(groups.replica);
        // Critical alerts: each in a pager group and a chat group (the pager route continues).
        const ours = (
          groups.body as {
            receiver: { name: string };
            alerts: { labels: Record<string, string> }[];
          }[]
        )
          .flatMap((g) => g.alerts.map((x) => ({ receiver: g.receiver.name, labels: x.labels })))
          .filter((x) => x.labels.host === host)
          .map((x) => `${x.receiver}:${x.labels.alertname}`)
          .sort();
        expect(ours).toEqual(
          ["chat", "pager"].flatMap((r) => wanted.map((name) => `${r}:${name}`)).sort(),
        );
      }
      expect([...replicas].sort()).toEqual(["active", "standby"]);
      // The same content, field for field, from both.
      const [one, other] = [
        await read("/api/v2/alerts/groups"),
        await read("/api/v2/alerts/groups"),
      ];
      expect(one.body).toEqual(other.body);
    } finally {
      await kill(first);
      await kill(second);
    }
  }, 120_000);
});

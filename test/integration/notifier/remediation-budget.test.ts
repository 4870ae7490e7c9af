// The fleet remediation budget on the real broker: its leases live on a compacted topic, so a
// notifier that restarts honours what its predecessor left there — with a budget of one, a second
// target waits after the restart and its action runs (a real POST to the hook) only when the first
// target's alert resolves. Every decision is on the ledger and on the alert in the console.
import { describe, expect, inject, it } from "vitest";
import { decode } from "../../../schemas/codec.js";
import type { RemediationLease } from "../../../schemas/types.js";
import type { Service } from "../../../services/chassis/service.js";
import { startNotifier } from "../../../services/notifier/main.js";
import { notifierSettings } from "../../../services/notifier/settings.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { readTopic, waitFor } from "../../support/kafka.js";
import { alert, notifierConfig, notifierTopics, publishAlerts } from "../../support/notifier.js";
import { startReceivers } from "../../support/receivers.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("the fleet remediation budget on the real broker", () => {
  it("holds through a notifier restart: the second target waits, and runs when the first is released", async () => {
    await admin.connect();
    const receivers = await startReceivers();
    const topics = await notifierTopics(admin);
    const ledger = `${topics.acks}-remediation`;
    const name = uniqueName("rb").toLowerCase();
    const [n1, n2] = [uniqueName("gpu-node"), uniqueName("gpu-node")];
    const settings = () => {
      const config = notifierConfig(endpoint, name, topics, receivers.url, {
        route: { receiver: "quarantine", group_by: ["alertname", "host"], routes: [] },
        alerting: {
          receivers: [
            {
              name: "quarantine",
              action: {
                url: `${receivers.url}/hook/cordon`,
                allow: [receivers.url],
                dry_run: false,
                budget: { target: ["host"], max_active: 1, cooldown: "1s" },
              },
            },
          ],
        },
      });
      return notifierSettings.parse({
        ...config,
        notifier: { ...config.notifier, remediation: ledger },
      });
    };
    const hooks = () => receivers.of("/hook/cordon");
    const first = alert("GpuXidCritical", { host: n1, gpu: "3" });
    const second = alert("GpuXidCritical", { host: n2, gpu: "5" });
    let notifier: Service | undefined;
    try {
      notifier = await startNotifier(settings());
      await publishAlerts(kafka, topics, [first]);
      await waitFor("the first cordon", async () => hooks().length === 1);
      await notifier.stop();

      notifier = await startNotifier(settings());
      await publishAlerts(kafka, topics, [second]);
      const leases = async () => {
        const latest = new Map<string, RemediationLease>();
        for (const r of await readTopic(kafka, ledger))
          if (r.value) latest.set(String(r.key), decode("remediation", r.value));
        return [...latest.values()];
      };
      await waitFor("the second request on the ledger", async () =>
        (await leases()).some((l) => l.target === `host=${n2}`),
      );
      await sleep(2_000);
      expect(hooks()).toHaveLength(1); // the restarted notifier knows n1 is in remediation
      const waiting = (await leases()).find((l) => l.target === `host=${n2}`)!;
      expect(waiting.state).toBe("waiting");
      expect(waiting.decisions[0]!.reason).toContain(`(host=${n1})`);

      await publishAlerts(kafka, topics, [{ ...first, status: "resolved", endsAt: Date.now() }]);
      await waitFor("the second cordon", async () => hooks().length === 2);
      expect(JSON.stringify(hooks()[1]!.body)).toContain(n2);
      const final = new Map((await leases()).map((l) => [l.target, l]));
      expect(final.get(`host=${n1}`)!.decisions.map((d) => d.decision)).toEqual([
        "acted",
        "released",
      ]);
      expect(final.get(`host=${n2}`)!.decisions.map((d) => d.decision)).toEqual([
        "waiting",
        "acted",
      ]);
      // The console shows the decisions with the alert.
      const port = notifier.http.port;
      const view = (await (
        await fetch(`http://127.0.0.1:${port}/api/v1/console/alerts/${second.fingerprint}`)
      ).json()) as { remediation: { decision: string; target: string }[] };
      expect(view.remediation.map((d) => d.decision)).toEqual(["waiting", "acted"]);
    } finally {
      await notifier?.stop();
      await receivers.close();
      await admin.disconnect();
    }
  }, 90_000);
});

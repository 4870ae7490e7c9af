// The detector as a real process on the real broker: a synthetic temperature series goes
// pending, fires and resolves while the detector is killed (kill -9) once while the alert is
// pending and once while it fires. The alert topic must then hold exactly one firing event and
// one resolved event (plus re-sends, marked as such): no `for` timer reset, nothing twice.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode, encode } from "../../../schemas/codec.js";
import type { Alert, MetricSample } from "../../../schemas/types.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import {
  committedTotal,
  createTopics,
  readTopic,
  recordCount,
  spawnService,
  waitFor,
  type ChildService,
} from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-25T10:00:00Z");

const RULES = `
rules:
  - name: GpuHot
    select: gpu_temperature_celsius
    when: "> 85"
    for: 20s
    recover: "< 80"
    severity: critical
    annotations:
      summary: "GPU {{ $labels.gpu }} on {{ $labels.host }} at {{ $value }} °C"
      runbook: https://vigil.dev/runbooks#gputemperaturehigh
    noData: { after: 1h }
`;

const sample = (host: string, second: number, value: number): MetricSample => ({
  name: "gpu_temperature_celsius",
  value,
  timestamp: T0 + second * 1000,
  labels: { host, gpu: "0" },
  type: "gauge",
  unit: "celsius",
  startTimestamp: null,
});

describe("the detector's alert lifecycle on the real broker", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("emits one firing and one resolved event, re-sends marked, though it was killed while pending and while firing", async () => {
    const [input, alerts, state, changelog, dlq] = await createTopics(
      admin,
      3,
      "det-in",
      "det-alerts",
      "det-state",
      "det-changelog",
      "det-dlq",
    );
    const dir = mkdtempSync(join(tmpdir(), "vigil-detector-"));
    writeFileSync(join(dir, "rules.yaml"), RULES);
    const name = uniqueName("det")
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-");
    writeFileSync(
      join(dir, "detector.json"),
      JSON.stringify({
        topics: { deadLetter: dlq },
        detector: {
          name,
          instance: "test-1",
          inputs: [input],
          output: alerts,
          state,
          changelog,
          rules: [join(dir, "rules.yaml")],
          resendEvery: "2s",
          tick: "250ms",
          sessionTimeout: "6s",
        },
      }),
    );
    const start = (): ChildService =>
      spawnService("services/detector/main.ts", endpoint, {
        VIGIL_CONFIG: join(dir, "detector.json"),
      });
    const producer = kafka.producer();
    await producer.connect();
    let sent = 0;
    const send = async (...samples: MetricSample[]) => {
      await producer.send({
        topic: input!,
        acks: -1,
        messages: samples.map((s) => ({
          key: s.labels.host!,
          value: encode("metric-batch", { source: s.labels.host!, samples: [s] }),
        })),
      });
      sent += samples.length;
    };
    const processed = () =>
      waitFor(
        "the detector to commit everything sent",
        async () => (await committedTotal(admin, `vigil-detector-${name}`, input!)) === sent,
      );
    const events = async () =>
      (await readTopic(kafka, alerts!)).map((r) => decode("alert", r.value));
    const changes = (all: Alert[]) => all.filter((e) => !e.resend);
    const kill = async (service: ChildService) => {
      service.child.kill("SIGKILL");
      await service.exited;
    };

    let detector = start();
    try {
      await detector.port;
      // h1 goes pending at 10 s; h2 stays cool; h3 spikes once (pending, never announced).
      await send(sample("h1", 0, 70), sample("h2", 0, 60), sample("h3", 0, 70));
      await send(sample("h1", 5, 70), sample("h3", 5, 95));
      await send(sample("h1", 10, 90), sample("h3", 10, 70));
      await send(sample("h1", 15, 90), sample("h2", 15, 61));
      await processed();
      expect(changes(await events())).toEqual([]);

      await kill(detector); // while h1 is pending
      detector = start();
      await detector.port;
      await send(sample("h1", 20, 91), sample("h1", 25, 92));
      await processed();
      expect(changes(await events())).toEqual([]); // 25 − 10 < 20 s: still pending
      await send(sample("h1", 30, 93)); // 30 − 10 = 20 s: fires — the timer survived the kill
      await waitFor("the firing event", async () => changes(await events()).length === 1);
      await waitFor("a re-send", async () => (await events()).some((e) => e.resend), 10_000);

      await processed();
      await kill(detector); // while h1 fires
      detector = start();
      await detector.port;
      await send(sample("h1", 35, 90), sample("h1", 40, 82)); // 82: above the recovery line
      await processed();
      await send(sample("h1", 45, 75));
      await waitFor("the resolved event", async () => changes(await events()).length === 2);
      await new Promise((done) => setTimeout(done, 1_500)); // time for anything extra to show

      const all = await events();
      const [firing, resolved] = changes(all);
      expect(changes(all)).toHaveLength(2);
      expect(firing).toMatchObject({
        rule: "GpuHot",
        status: "firing",
        severity: "critical",
        labels: { host: "h1", gpu: "0", alertname: "GpuHot", severity: "critical" },
        annotations: { summary: "GPU 0 on h1 at 93 °C" },
        startsAt: T0 + 10_000,
        endsAt: null,
        value: 93,
        threshold: 85,
        flapping: false,
      });
      expect(resolved).toMatchObject({
        status: "resolved",
        fingerprint: firing!.fingerprint,
        startsAt: T0 + 10_000,
        endsAt: T0 + 45_000,
      });
      const resends = all.filter((e) => e.resend);
      expect(resends.length).toBeGreaterThan(0);
      for (const e of resends)
        expect(e).toMatchObject({ status: "firing", fingerprint: firing!.fingerprint });
      // Re-sends come between the firing and the resolved event, never after.
      const order = all.map((e) => (e.resend ? "s" : e.status === "firing" ? "f" : "x")).join("");
      expect(order).toMatch(/^fs+x$/);

      // The compacted state topic's latest record for the alert is its resolution.
      const latest = (await readTopic(kafka, state!)).map((r) => decode("alert", r.value)).at(-1);
      expect(latest).toMatchObject({ status: "resolved", fingerprint: firing!.fingerprint });
      expect(await recordCount(admin, dlq!)).toBe(0);
    } finally {
      detector.child.kill("SIGTERM");
      await detector.exited;
      await producer.disconnect();
    }
  }, 150_000);
});

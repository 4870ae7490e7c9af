// Notifier figures, through the real broker to a local HTTP receiver: latency from an alert event
// produced to its notification arriving (p50/p99, group_wait 0, tick 50 ms — so the tick's
// granularity is part of it), and notifications per second for a burst of alerts in distinct
// groups.
import { startNotifier } from "../services/notifier/main.js";
import { notifierSettings } from "../services/notifier/settings.js";
import { kafkaClient, uniqueName } from "../test/support/clients.js";
import {
  alert,
  notifierConfig,
  notifierTopics,
  publishAlerts,
  testEnv,
} from "../test/support/notifier.js";
import { startReceivers } from "../test/support/receivers.js";
import type { KafkaEndpoint } from "../test/support/servers.js";
import { bench } from "./fixtures.js";

export async function notifierBench(endpoint: KafkaEndpoint): Promise<void> {
  const kafka = kafkaClient(endpoint, "vigil-bench");
  const admin = kafka.admin();
  await admin.connect();
  const receivers = await startReceivers();
  Object.assign(process.env, testEnv(receivers.url));
  const topics = await notifierTopics(admin);
  const config = notifierConfig(
    endpoint,
    uniqueName("bench-nt").toLowerCase(),
    topics,
    receivers.url,
    {
      route: {
        group_by: ["alertname", "host"],
        group_wait: "0s",
        group_interval: "1m",
        routes: [],
      },
      delivery: { rateLimit: { max: 100_000, per: "1m" } },
    },
  );
  const notifier = await startNotifier(
    notifierSettings.parse({
      ...config,
      notifier: { ...config.notifier, tick: "50ms" },
      log: { level: "silent" },
    }),
  );
  const slack = () => receivers.of("/slack/T000/B000/XXXX");
  const waitFor = async (n: number) => {
    const deadline = Date.now() + 60_000;
    while (slack().length < n && Date.now() < deadline)
      await new Promise((done) => setTimeout(done, 5));
  };
  try {
    // Let the instance become active (it restores state first).
    await publishAlerts(kafka, topics, [alert("Warmup", { host: "w", severity: "minor" })]);
    await waitFor(1);
    const latencies: number[] = [];
    for (let i = 0; i < 100; i++) {
      const before = slack().length;
      const started = performance.now();
      await publishAlerts(kafka, topics, [alert("Latency", { host: `h${i}`, severity: "minor" })]);
      await waitFor(before + 1);
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    bench("notifier_event_to_receiver_p50", latencies[50]!, "ms");
    bench("notifier_event_to_receiver_p99", latencies[98]!, "ms");

    const burst = 2_000;
    const before = slack().length;
    const started = performance.now();
    await publishAlerts(
      kafka,
      topics,
      Array.from({ length: burst }, (_, i) => alert("Burst", { host: `b${i}`, severity: "minor" })),
    );
    await waitFor(before + burst);
    bench(
      "notifier_notifications_per_second",
      (slack().length - before) / ((performance.now() - started) / 1000),
      "notifications/s",
    );
  } finally {
    await notifier.stop();
    await receivers.close();
    await admin.disconnect();
  }
}

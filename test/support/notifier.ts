// What notifier tests share: their topics, a configuration pointing at the local receivers, and
// alert events published the way the detector publishes them (alert topic + compacted state).
import type { Admin, Kafka } from "kafkajs";
import { encode } from "../../schemas/codec.js";
import type { Alert } from "../../schemas/types.js";
import { fingerprint } from "../../services/detector/lifecycle.js";
import { createTopics } from "./kafka.js";
import type { KafkaEndpoint } from "./servers.js";

export const ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF";

export interface NotifierTopics {
  alerts: string;
  alertsState: string;
  log: string;
  silences: string;
  acks: string;
  /** The fleet remediation ledger: the test's own, never the product's telemetry.remediation. */
  remediation: string;
  deadLetter: string;
}

export async function notifierTopics(admin: Admin): Promise<NotifierTopics> {
  const [alerts, alertsState, log, silences, acks, remediation, deadLetter] = await createTopics(
    admin,
    3,
    "nt-alerts",
    "nt-state",
    "nt-log",
    "nt-silences",
    "nt-acks",
    "nt-remediation",
    "nt-dlq",
  );
  return {
    alerts: alerts!,
    alertsState: alertsState!,
    log: log!,
    silences: silences!,
    acks: acks!,
    remediation: remediation!,
    deadLetter: deadLetter!,
  };
}

/** A notifier configuration: Slack-style and PagerDuty receivers on `receiversUrl`, short timers. */
export function notifierConfig(
  endpoint: KafkaEndpoint,
  name: string,
  topics: NotifierTopics,
  receiversUrl: string,
  overrides: { route?: object; alerting?: object; delivery?: object } = {},
) {
  const { deadLetter, ...notifierTopics } = topics;
  return {
    kafka: { brokers: endpoint.brokers },
    http: { port: 0 },
    log: { level: "error" as const },
    topics: { deadLetter },
    notifier: { name, ...notifierTopics, tick: "200ms", sessionTimeout: "6s" },
    delivery: { initialBackoff: "500ms", maxBackoff: "5s", retryFor: "2m" },
    ...("delivery" in overrides && { delivery: overrides.delivery }),
    alerting: {
      route: {
        receiver: "chat",
        group_by: ["alertname"],
        group_wait: "1s",
        group_interval: "2s",
        repeat_interval: "1h",
        routes: [
          { matchers: ['severity="critical"'], receiver: "pager", continue: true },
          { matchers: ['severity=~"critical|major|minor"'], receiver: "chat" },
        ],
        ...overrides.route,
      },
      receivers: [
        { name: "chat", slack: { webhook_url: { env: "VIGIL_TEST_SLACK_URL" } } },
        {
          name: "pager",
          pagerduty: {
            routing_key: { env: "VIGIL_TEST_PD_KEY" },
            url: `${receiversUrl}/pagerduty`,
          },
        },
      ],
      ...overrides.alerting,
    },
  };
}

export function testEnv(receiversUrl: string): Record<string, string> {
  return {
    VIGIL_TEST_SLACK_URL: `${receiversUrl}/slack/T000/B000/XXXX`,
    VIGIL_TEST_PD_KEY: ROUTING_KEY,
  };
}

export function alert(
  rule: string,
  labels: Record<string, string>,
  status: Alert["status"] = "firing",
  extra: Partial<Alert> = {},
): Alert {
  const severity = (labels.severity ?? "critical") as Alert["severity"];
  const all = { ...labels, alertname: rule, severity };
  return {
    fingerprint: fingerprint(rule, all),
    rule,
    severity,
    status,
    labels: all,
    annotations: {
      summary: `${rule} on ${labels.host ?? "?"}`,
      description: "",
      runbook_url: "https://vigil.dev/runbooks#test",
    },
    startsAt: Date.parse("2026-11-25T10:00:00Z"),
    endsAt: status === "resolved" ? Date.parse("2026-11-25T10:05:00Z") : null,
    value: 91,
    threshold: 85,
    resend: false,
    flapping: false,
    sentAt: Date.now(),
    ...extra,
  };
}

/** Publishes alert events as the detector does: to the alert topic and (not re-sends) the state topic. */
export async function publishAlerts(
  kafka: Kafka,
  topics: NotifierTopics,
  alerts: Alert[],
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  const messages = alerts.map((a) => ({
    key: a.fingerprint,
    value: encode("alert", { ...a, sentAt: Date.now() }),
  }));
  await producer.send({ topic: topics.alerts, acks: -1, messages });
  const changes = messages.filter((_, i) => !alerts[i]!.resend);
  if (changes.length > 0)
    await producer.send({ topic: topics.alertsState, acks: -1, messages: changes });
  await producer.disconnect();
}

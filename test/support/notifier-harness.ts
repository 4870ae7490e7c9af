// The notifier in-process on the real broker with the local receivers, as the delivery tests use
// it: call inside a describe; each start() gets fresh topics and a notifier, stop() ends it.
import type { Admin } from "kafkajs";
import { afterAll, beforeAll } from "vitest";
import type { Service } from "../../services/chassis/service.js";
import { startNotifier } from "../../services/notifier/main.js";
import { notifierSettings } from "../../services/notifier/settings.js";
import { uniqueName } from "./clients.js";
import { notifierConfig, notifierTopics, testEnv, type NotifierTopics } from "./notifier.js";
import { startReceivers, type Receivers } from "./receivers.js";
import type { KafkaEndpoint } from "./servers.js";

export interface NotifierHarness {
  readonly receivers: Receivers;
  readonly topics: NotifierTopics;
  start(overrides?: Parameters<typeof notifierConfig>[4]): Promise<Service>;
  stop(): Promise<void>;
  /** What reached the Slack and PagerDuty stand-ins mentioning `marker`. */
  slackFor(marker: string): Receivers["received"];
  pagesFor(marker: string): Receivers["received"];
}

export function notifierHarness(endpoint: KafkaEndpoint, admin: Admin): NotifierHarness {
  let receivers: Receivers;
  let topics: NotifierTopics;
  let notifier: Service | undefined;
  beforeAll(async () => {
    await admin.connect();
    receivers = await startReceivers();
    Object.assign(process.env, testEnv(receivers.url));
  });
  afterAll(async () => {
    await receivers.close();
    await admin.disconnect();
  });
  const mentioning = (path: string, marker: string) =>
    receivers.of(path).filter((r) => JSON.stringify(r.body).includes(marker));
  return {
    get receivers() {
      return receivers;
    },
    get topics() {
      return topics;
    },
    async start(overrides = {}) {
      topics = await notifierTopics(admin);
      notifier = await startNotifier(
        notifierSettings.parse(
          notifierConfig(
            endpoint,
            uniqueName("nt").toLowerCase(),
            topics,
            receivers.url,
            overrides,
          ),
        ),
      );
      return notifier;
    },
    async stop() {
      await notifier?.stop();
      notifier = undefined;
    },
    slackFor: (marker) => mentioning("/slack/T000/B000/XXXX", marker),
    pagesFor: (marker) => mentioning("/pagerduty", marker),
  };
}

// A receiver that answers 5xx for 60 s, then recovers: the notifier retries with backoff and the
// page arrives exactly once, with nothing dead-lettered. In `npm run test:faults` (called by
// .ci/run): a minute of outage is too slow for `npm test`.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Service } from "../../services/chassis/service.js";
import { startNotifier } from "../../services/notifier/main.js";
import { notifierSettings } from "../../services/notifier/settings.js";
import { kafkaClient, uniqueName } from "../support/clients.js";
import { recordCount, waitFor } from "../support/kafka.js";
import {
  alert,
  notifierConfig,
  notifierTopics,
  publishAlerts,
  testEnv,
  type NotifierTopics,
} from "../support/notifier.js";
import { startReceivers, type Receivers } from "../support/receivers.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("the notifier through a receiver outage", () => {
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

  async function start(overrides: Parameters<typeof notifierConfig>[4] = {}): Promise<Service> {
    topics = await notifierTopics(admin);
    notifier = await startNotifier(
      notifierSettings.parse(
        notifierConfig(endpoint, uniqueName("nt").toLowerCase(), topics, receivers.url, overrides),
      ),
    );
    return notifier;
  }
  const stop = async () => {
    await notifier?.stop();
    notifier = undefined;
  };
  const pagesFor = (marker: string) =>
    receivers.of("/pagerduty").filter((r) => JSON.stringify(r.body).includes(marker));

  it("delivers a notification exactly once when the receiver answers 5xx for 60 s and then recovers", async () => {
    await start({ delivery: { initialBackoff: "1s", maxBackoff: "8s", retryFor: "3m" } });
    try {
      const host = uniqueName("flaky");
      receivers.failUntil("/pagerduty", Date.now() + 60_000);
      const failedBefore = receivers.refused.filter((r) => r.path === "/pagerduty").length;
      await publishAlerts(kafka, topics, [alert("PsuFailure", { host })]);
      await waitFor("the page after the outage", async () => pagesFor(host).length === 1, 100_000);
      await sleep(3_000);
      expect(pagesFor(host)).toHaveLength(1);
      expect(
        receivers.refused.filter((r) => r.path === "/pagerduty").length - failedBefore,
      ).toBeGreaterThan(5);
      expect(await recordCount(admin, topics.deadLetter)).toBe(0);
    } finally {
      receivers.failUntil("/pagerduty", 0);
      await stop();
    }
  }, 150_000);
});

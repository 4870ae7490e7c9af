// A receiver that answers 5xx for 60 s, then recovers: the notifier retries with backoff and the
// page arrives exactly once, with nothing dead-lettered. In `npm run test:faults` (called by
// .ci/run): a minute of outage is too slow for `npm test`.
import { describe, expect, inject, it } from "vitest";
import { kafkaClient, uniqueName } from "../support/clients.js";
import { recordCount, waitFor } from "../support/kafka.js";
import { notifierHarness } from "../support/notifier-harness.js";
import { alert, publishAlerts } from "../support/notifier.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("the notifier through a receiver outage", () => {
  const h = notifierHarness(endpoint, admin);
  const { start, stop, pagesFor } = h;

  it("delivers a notification exactly once when the receiver answers 5xx for 60 s and then recovers", async () => {
    await start({ delivery: { initialBackoff: "1s", maxBackoff: "8s", retryFor: "3m" } });
    try {
      const host = uniqueName("flaky");
      h.receivers.failUntil("/pagerduty", Date.now() + 60_000);
      const failedBefore = h.receivers.refused.filter((r) => r.path === "/pagerduty").length;
      await publishAlerts(kafka, h.topics, [alert("PsuFailure", { host })]);
      await waitFor("the page after the outage", async () => pagesFor(host).length === 1, 100_000);
      await sleep(3_000);
      expect(pagesFor(host)).toHaveLength(1);
      expect(
        h.receivers.refused.filter((r) => r.path === "/pagerduty").length - failedBefore,
      ).toBeGreaterThan(5);
      expect(await recordCount(admin, h.topics.deadLetter)).toBe(0);
    } finally {
      h.receivers.failUntil("/pagerduty", 0);
      await stop();
    }
  }, 150_000);
});

// The guarantee is a setting of the consumer (`processing`), not something a handler chooses: the
// same relay service, set to exactly_once, runs on the chassis's loop through a stage without
// state — one transaction per batch — and a kill -9 mid-stream leaves no record twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { consumerSettings } from "../../../services/chassis/settings.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import {
  committedTotal,
  createTopics,
  idsOf,
  produceIds,
  readTopic,
  spawnService,
  waitFor,
} from "../../support/kafka.js";

const RELAY = "test/fixtures/relay-service.ts";
const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

describe("the processing setting", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("is at_least_once unless said, and names the field when it is neither guarantee", () => {
    expect(consumerSettings.parse({ groupId: "g", topics: ["t"] }).processing).toBe(
      "at_least_once",
    );
    const bad = consumerSettings.safeParse({ groupId: "g", topics: ["t"], processing: "twice" });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(["processing"]);
  });

  it("set to exactly_once, copies every record once though the relay was killed with -9 after writing a batch and before committing it", async () => {
    const [input, output, dlq] = await createTopics(admin, 3, "eos-in", "eos-out", "eos-dlq");
    const sent = Array.from({ length: 300 }, (_, i) => `eos-${i}`);
    await produceIds(kafka, input!, sent);
    const groupId = uniqueName("relay-eos");
    const env = {
      VIGIL__CONSUMER__GROUP_ID: groupId,
      VIGIL__CONSUMER__TOPICS: `[${input}]`,
      VIGIL__CONSUMER__PROCESSING: "exactly_once",
      VIGIL__CONSUMER__SESSION_TIMEOUT: "6s",
      VIGIL__TOPICS__DEAD_LETTER: dlq!,
      RELAY_OUTPUT: output!,
    };

    // The point at-least-once.test.ts kills the same relay: its outputs written, its offsets not
    // committed. There the batch is copied twice; here its transaction is aborted.
    const crashing = spawnService(RELAY, endpoint, { ...env, RELAY_CRASH_BEFORE_COMMIT: "1" });
    expect(await crashing.exited, crashing.stderr()).toBeNull(); // killed by SIGKILL, not an exit code
    expect(await committedTotal(admin, groupId, input!)).toBe(0);

    const restarted = spawnService(RELAY, endpoint, env);
    await waitFor(
      "every input committed",
      async () => (await committedTotal(admin, groupId, input!)) === sent.length,
      90_000,
    );
    restarted.child.kill("SIGTERM");
    expect(await restarted.exited).toBe(0);

    const copied = idsOf(await readTopic(kafka, output!));
    expect([...new Set(copied)].sort()).toEqual([...sent].sort());
    expect(copied).toHaveLength(sent.length);
  }, 180_000);
});

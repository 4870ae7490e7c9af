import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import {
  committedTotal,
  createTopics,
  idsOf,
  produceIds,
  readTopic,
  recordCount,
  spawnService,
  waitFor,
} from "../../support/kafka.js";

const RELAY = "test/fixtures/relay-service.ts";
const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

describe("at-least-once delivery through a real broker", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("gives a consumer killed after producing but before committing the same batch again, skipping nothing", async () => {
    const [input, output, dlq] = await createTopics(admin, 3, "alo-in", "alo-out", "alo-dlq");
    const sent = ids(300, "kill9");
    await produceIds(kafka, input!, sent);
    const groupId = uniqueName("relay");
    const env = {
      VIGIL__CONSUMER__GROUP_ID: groupId,
      VIGIL__CONSUMER__TOPICS: `[${input}]`,
      VIGIL__TOPICS__DEAD_LETTER: dlq!,
      // The killed member stays in the group until its session times out; keep that short.
      VIGIL__CONSUMER__SESSION_TIMEOUT: "6s",
      RELAY_OUTPUT: output!,
    };

    const crashing = spawnService(RELAY, endpoint, { ...env, RELAY_CRASH_BEFORE_COMMIT: "1" });
    expect(await crashing.exited).toBeNull(); // killed by SIGKILL, not an exit code
    const beforeCrash = idsOf(await readTopic(kafka, output!));
    expect(beforeCrash.length).toBeGreaterThan(0);
    expect(await committedTotal(admin, groupId, input!)).toBe(0);

    const restarted = spawnService(RELAY, endpoint, env);
    await waitFor(
      "every input committed",
      async () => (await committedTotal(admin, groupId, input!)) === sent.length,
    );
    restarted.child.kill("SIGTERM");
    expect(await restarted.exited).toBe(0);

    const counts = countBy(idsOf(await readTopic(kafka, output!)));
    expect([...counts.keys()].sort()).toEqual([...sent].sort());
    const twice = [...counts].filter(([, n]) => n === 2).map(([id]) => id);
    expect(twice.sort()).toEqual([...new Set(beforeCrash)].sort());
    expect([...counts.values()].every((n) => n <= 2)).toBe(true);
  });

  it("drains and commits on SIGTERM mid-stream, so a restart re-processes nothing and loses nothing", async () => {
    const [input, output, dlq] = await createTopics(admin, 3, "term-in", "term-out", "term-dlq");
    const sent = ids(600, "term");
    await produceIds(kafka, input!, sent, 10);
    const groupId = uniqueName("relay");
    const env = {
      VIGIL__CONSUMER__GROUP_ID: groupId,
      VIGIL__CONSUMER__TOPICS: `[${input}]`,
      VIGIL__CONSUMER__MAX_BYTES_PER_PARTITION: "2048",
      VIGIL__TOPICS__DEAD_LETTER: dlq!,
      RELAY_OUTPUT: output!,
    };

    const first = spawnService(RELAY, endpoint, { ...env, RELAY_DELAY_MS: "150" });
    await waitFor("some output", async () => (await recordCount(admin, output!)) >= 100);
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    const produced = await recordCount(admin, output!);
    expect(produced).toBeLessThan(sent.length); // it really stopped mid-stream
    expect(await committedTotal(admin, groupId, input!)).toBe(produced); // everything produced was committed

    const second = spawnService(RELAY, endpoint, env);
    await waitFor(
      "every input committed",
      async () => (await committedTotal(admin, groupId, input!)) === sent.length,
    );
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);

    const out = idsOf(await readTopic(kafka, output!));
    expect(out.length).toBe(sent.length); // no duplicates: nothing re-processed
    expect([...out].sort()).toEqual([...sent].sort());
  });
});

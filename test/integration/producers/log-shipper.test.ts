// Rotation by rename and by copytruncate during a write burst, and a kill -9 of the shipper with
// a restart, against the real broker: every line must arrive exactly once.
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  renameSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode } from "../../../schemas/codec.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, spawnService, waitFor, type ChildService } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("log shipper", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("ships every line exactly once through rename and copytruncate rotation and a kill -9", async () => {
    const [topic, checkpoints] = await createTopics(
      admin,
      3,
      "shipped-logs",
      "shipper-checkpoints",
    );
    const dir = mkdtempSync(join(tmpdir(), "vigil-shipper-"));
    const log = join(dir, "app.log");
    writeFileSync(log, "");

    // Everything committed to the topic, as a reader with read_committed sees it.
    const seen: string[] = [];
    const reader = kafka.consumer({ groupId: uniqueName("shipped-reader"), maxWaitTimeInMs: 100 });
    await reader.connect();
    await reader.subscribe({ topics: [topic!], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) =>
        void seen.push(...decode("log-batch", message.value).events.map((e) => e.message)),
    });

    let next = 0;
    const written: string[] = [];
    const burst = async (count: number) => {
      for (let i = 0; i < count; i++, next++) {
        const id = `line-${next}`;
        written.push(id);
        // Every 25th record is a three-line stack trace: it must arrive as one event.
        appendFileSync(
          log,
          next % 25 === 0
            ? `${id} ERROR boom\n    at a.b(C.java:1)\n    at d.e(F.java:2)\n`
            : `${id} INFO step\n`,
        );
        if (i % 20 === 19) await sleep(15);
      }
    };
    const id = uniqueName("shipper"); // the same identity across the restart: its checkpoints
    const shipper = (): ChildService =>
      spawnService("services/log-shipper/main.ts", endpoint, {
        VIGIL__SHIPPER__ID: id,
        VIGIL__SHIPPER__PATHS: `[${log}]`,
        VIGIL__SHIPPER__TOPIC: topic!,
        VIGIL__SHIPPER__CHECKPOINT_TOPIC: checkpoints!,
        VIGIL__SHIPPER__POLL_INTERVAL: "50ms",
        VIGIL__SHIPPER__MULTILINE__FLUSH_AFTER: "300ms",
      });
    const caughtUp = () =>
      waitFor("the shipper to catch up", async () => new Set(seen).size === written.length, 30_000);

    let running = shipper();
    await running.port;
    try {
      await burst(300);
      renameSync(log, `${log}.1`); // rotation by rename: the old file is finished through its descriptor
      writeFileSync(log, "");
      await burst(300);
      await caughtUp();
      copyFileSync(log, `${log}.2`); // rotation by copytruncate, once what was written is shipped
      truncateSync(log, 0);
      await burst(200);
      running.child.kill("SIGKILL");
      await running.exited;
      await burst(200); // written while the shipper is dead
      running = shipper();
      await running.port;
      await burst(100);
      await caughtUp();
      await sleep(1_000); // anything duplicated would arrive by now
    } finally {
      running.child.kill("SIGTERM");
      await running.exited;
      await reader.disconnect();
    }

    const ids = seen.map((message) => message.split(" ")[0]!);
    const counts = new Map<string, number>();
    for (const x of ids) counts.set(x, (counts.get(x) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...written].sort());
    expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
    expect(
      seen.filter((m) => m.includes("\n    at a.b(C.java:1)\n    at d.e(F.java:2)")).length,
    ).toBe(Math.ceil(written.length / 25));
  }, 120_000);
});

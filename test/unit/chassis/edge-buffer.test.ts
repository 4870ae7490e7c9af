// The edge buffer's disk logic, with a stand-in for the producer it fronts (Kafka up or down at
// the test's say). The real thing — Kafka stopped for 60 s under load — is test/faults/edge-buffer.
import { appendFileSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferedProducer } from "../../../services/chassis/edge-buffer.js";
import { createLogger } from "../../../services/chassis/logger.js";
import { createMetrics } from "../../../services/chassis/metrics.js";
import type { OutboundRecord, OutputProducer } from "../../../services/chassis/producer.js";

class Unreachable extends Error {
  override name = "KafkaJSConnectionError";
}

function standIn() {
  const delivered: string[] = [];
  const state = { up: false };
  const producer: OutputProducer = {
    connect: async () => {
      if (!state.up) throw new Unreachable("connect ECONNREFUSED");
    },
    send: async (records) => {
      if (!state.up) throw new Unreachable("connect ECONNREFUSED");
      delivered.push(...records.map((r) => r.value!.toString()));
    },
    disconnect: async () => undefined,
  };
  return { producer, delivered, state };
}

const batch = (...values: string[]): OutboundRecord[] =>
  values.map((v) => ({ topic: "t", key: "k", value: Buffer.from(v), headers: { h: "x" } }));

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

function open(
  dir: string,
  inner: OutputProducer,
  over: { maxBytes?: number; maxAge?: number; now?: () => number; directWait?: number } = {},
) {
  const metrics = createMetrics(`edge-${Math.random()}`);
  const producer = bufferedProducer(inner, {
    dir,
    maxBytes: over.maxBytes ?? 2 ** 20,
    maxAge: over.maxAge ?? 3_600_000,
    retryEvery: 5,
    directWait: over.directWait ?? 1_000,
    now: over.now ?? Date.now,
    metrics,
    logger: createLogger("edge", "silent"),
  });
  const dropped = async (reason: string) =>
    (await metrics.dropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { producer, dropped };
}

describe("the edge buffer", () => {
  it("keeps what Kafka cannot take and hands it over in order, once, when Kafka is back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-"));
    const kafka = standIn();
    const { producer } = open(dir, kafka.producer);
    await producer.connect(); // Kafka away at start: not an error
    await producer.send(batch("1", "2"));
    await producer.send(batch("3"));
    expect(producer.pending()).toBe(3);
    kafka.state.up = true;
    await producer.send(batch("4")); // behind what waits: buffered too, so order holds
    await until(() => producer.pending() === 0);
    expect(kafka.delivered).toEqual(["1", "2", "3", "4"]);
    await producer.send(batch("5")); // nothing waits: straight to Kafka
    expect(kafka.delivered).toEqual(["1", "2", "3", "4", "5"]);
    await producer.disconnect();
  });

  it("survives its own restart, a torn last write included, and drains what it kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-"));
    const first = standIn();
    const before = open(dir, first.producer);
    await before.producer.send(batch("a"));
    await before.producer.send(batch("b", "c"));
    await before.producer.disconnect();
    const segment = readdirSync(dir).find((n) => n.endsWith(".seg"))!;
    appendFileSync(join(dir, segment), Buffer.from([0, 0, 0, 99, 1, 2])); // died mid-append

    const second = standIn();
    second.state.up = true;
    const after = open(dir, second.producer);
    expect(after.producer.pending()).toBe(3);
    await until(() => after.producer.pending() === 0);
    expect(second.delivered).toEqual(["a", "b", "c"]);
    await after.producer.disconnect();

    const third = standIn();
    third.state.up = true;
    const again = open(dir, third.producer);
    expect(again.producer.pending()).toBe(0); // the cursor moved past what was acknowledged
    await again.producer.disconnect();
  });

  it("keeps a send Kafka is slow to acknowledge, so the caller goes on, and drops it once acknowledged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-"));
    const delivered: string[] = [];
    let release: () => void = () => undefined;
    const slow: OutputProducer = {
      connect: async () => undefined,
      send: (records) =>
        new Promise<void>((done) => {
          release = () => (delivered.push(...records.map((r) => r.value!.toString())), done());
        }),
      disconnect: async () => undefined,
    };
    const { producer } = open(dir, slow, { directWait: 20 });
    await producer.send(batch("x")); // returns though Kafka has not answered
    expect(producer.pending()).toBe(1);
    release();
    await until(() => producer.pending() === 0);
    expect(delivered).toEqual(["x"]); // acknowledged by the first send: not sent again
    await producer.disconnect();
  });

  it("drops the oldest first, and counts them, only when a bound is hit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-"));
    const kafka = standIn();
    let clock = 1_000_000;
    const { producer, dropped } = open(dir, kafka.producer, {
      maxBytes: 400,
      maxAge: 60_000,
      now: () => clock,
    });
    for (let i = 0; i < 6; i++) await producer.send(batch(`${i}`.repeat(50)));
    expect(await dropped("edge_buffer_full")).toBeGreaterThan(0);
    const kept = producer.pending();
    expect(kept + (await dropped("edge_buffer_full"))).toBe(6);
    clock += 120_000;
    await producer.send(batch("fresh"));
    kafka.state.up = true;
    await until(() => producer.pending() === 0);
    expect(kafka.delivered).toEqual(["fresh"]);
    expect(await dropped("edge_buffer_expired")).toBe(kept);
    await producer.disconnect();
  });
});

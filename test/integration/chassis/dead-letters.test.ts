import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode, encode } from "../../../schemas/codec.js";
import { createMetrics } from "../../../services/chassis/metrics.js";
import { RetryableError } from "../../../services/chassis/errors.js";
import { createProducer } from "../../../services/chassis/producer.js";
import type { Service } from "../../../services/chassis/service.js";
import { REPLAY_HEADER, replayDeadLetters } from "../../../services/cli/replay.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { startTestService } from "../../support/services.js";
import {
  committedTotal,
  createTopics,
  idsOf,
  metricRecord,
  readTopic,
  waitFor,
} from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

/** A service that passes metric batches on, and marks batches without samples as invalid. */
function validatingService(
  input: string,
  output: string,
  deadLetter: string,
  groupId: string,
): Promise<Service> {
  return startTestService({
    name: "validator",
    kafka: endpoint,
    input,
    deadLetter,
    groupId,
    handler: async (records) => {
      const bad = records.filter((r) => r.decoded.samples.length === 0);
      return {
        outputs: records
          .filter((r) => !bad.includes(r))
          .map((r) => ({ topic: output, key: r.key, value: r.value! })),
        rejected: bad.map((record) => ({
          record,
          stage: "validate",
          code: "VGL_VALIDATE" as const,
          message: "samples: expected at least one sample",
        })),
      };
    },
  });
}

describe("dead letters", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("sends a poison record to the dead-letter topic with its reason and processes the records after it", async () => {
    const [input, output, dlq] = await createTopics(
      admin,
      1,
      "poison-in",
      "poison-out",
      "poison-dlq",
    );
    const groupId = uniqueName("validator");
    const producer = kafka.producer();
    await producer.connect();
    const empty = encode("metric-batch", { source: "empty-batch", samples: [] });
    await producer.send({
      topic: input!,
      acks: -1,
      messages: [
        metricRecord("before"),
        {
          key: "poison",
          value: Buffer.from('{"not":"avro"}'),
          headers: { origin: "legacy-agent" },
        },
        { key: "empty", value: empty },
        metricRecord("after"),
      ],
    });
    await producer.disconnect();

    const service = await validatingService(input!, output!, dlq!, groupId);
    try {
      await waitFor(
        "the batch committed",
        async () => (await committedTotal(admin, groupId, input!)) === 4,
      );
      expect(idsOf(await readTopic(kafka, output!))).toEqual(["before", "after"]);

      const letters = (await readTopic(kafka, dlq!)).map((r) => decode("dead-letter", r.value));
      expect(
        letters.map((l) => [
          l.originalTopic,
          l.partition,
          l.offset,
          l.key?.toString(),
          l.failedStage,
          l.errorCode,
        ]),
      ).toEqual([
        [input, 0, 1, "poison", "decode", "VGL_DECODE_MAGIC"],
        [input, 0, 2, "empty", "validate", "VGL_VALIDATE"],
      ]);
      expect(letters[0]!.value?.toString()).toBe('{"not":"avro"}');
      expect(letters[0]!.headers.origin?.toString()).toBe("legacy-agent");
      expect(letters[0]!.errorMessage).toMatch(/magic byte/);
      expect(letters[1]!.errorMessage).toBe("samples: expected at least one sample");

      const metrics = await (await fetch(`http://127.0.0.1:${service.http.port}/metrics`)).text();
      expect(metrics).toMatch(
        /vigil_dead_letters_total\{code="VGL_DECODE_MAGIC",service="validator"\} 1/,
      );
      expect(metrics).toMatch(
        /vigil_dead_letters_total\{code="VGL_VALIDATE",service="validator"\} 1/,
      );
      expect(metrics).toMatch(
        new RegExp(`vigil_records_in_total\\{topic="${input}",service="validator"\\} 4`),
      );
      expect(metrics).toMatch(
        new RegExp(`vigil_records_out_total\\{topic="${output}",service="validator"\\} 2`),
      );
      expect(metrics).toMatch(/vigil_commits_total\{result="committed",service="validator"\} 1/);
      expect(metrics).toMatch(
        new RegExp(
          `vigil_consumer_lag_records\\{topic="${input}",partition="0",service="validator"\\} 0`,
        ),
      );
      expect((await fetch(`http://127.0.0.1:${service.http.port}/readyz`)).status).toBe(200);
    } finally {
      await service.stop();
    }
  });

  it("replays chosen dead letters to their original topic, bytes and key untouched", async () => {
    const [original, dlq] = await createTopics(admin, 1, "replay-orig", "replay-dlq");
    const letter = (id: string, code: string) => ({
      originalTopic: original!,
      partition: 0,
      offset: 7,
      key: Buffer.from(id),
      value: metricRecord(id).value,
      headers: { trace: Buffer.from(`t-${id}`) },
      failedStage: "sink",
      errorCode: code,
      errorMessage: "store was down",
      time: Date.parse("2026-11-25T10:00:00Z"),
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: dlq!,
      acks: -1,
      messages: [
        { key: "a", value: encode("dead-letter", letter("a", "VGL_SINK_REJECTED")) },
        { key: "b", value: encode("dead-letter", letter("b", "VGL_VALIDATE")) },
      ],
    });
    await producer.disconnect();

    const out = createProducer(kafka, createMetrics("replay-test"));
    await out.connect();
    const dry = await replayDeadLetters({
      kafka,
      producer: out,
      deadLetterTopic: dlq!,
      filter: { code: "VGL_SINK_REJECTED" },
      dryRun: true,
    });
    expect(dry).toEqual({ scanned: 2, replayed: 1, byTopic: { [original!]: 1 }, byReference: 0 });
    expect(await readTopic(kafka, original!)).toEqual([]);

    await replayDeadLetters({
      kafka,
      producer: out,
      deadLetterTopic: dlq!,
      filter: { code: "VGL_SINK_REJECTED" },
      dryRun: false,
    });
    await out.disconnect();
    const replayed = await readTopic(kafka, original!);
    expect(idsOf(replayed)).toEqual(["a"]);
    expect(replayed[0]!.key).toBe("a");
    expect(replayed[0]!.headers).toEqual({ trace: "t-a", [REPLAY_HEADER]: `${dlq}:0:0` });
  });

  it("turns /readyz red, saying which partition and why, while a batch keeps failing, and green once it passes", async () => {
    const [input, dlq] = await createTopics(admin, 1, "stall-in", "stall-dlq");
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: input!, acks: -1, messages: [metricRecord("m-1")] });
    await producer.disconnect();
    let failing = true;
    const service = await startTestService({
      name: "stalling",
      kafka: endpoint,
      input: input!,
      deadLetter: dlq!,
      groupId: uniqueName("stall"),
      consumer: { stallAfter: "1s", retry: { initial: "100ms", max: "200ms" } },
      handler: async () => {
        if (failing) throw new RetryableError("store answers 503");
        return {};
      },
    });
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${service.http.port}/readyz`);
      return `${response.status} ${await response.text()}`;
    };
    try {
      await waitFor("readyz to turn red", async () => (await readyz()).startsWith("503"));
      expect(await readyz()).toMatch(
        new RegExp(
          `partition ${input}:0 has made no progress for \\d+s: handler: store answers 503`,
        ),
      );
      failing = false;
      await waitFor("readyz to turn green", async () => (await readyz()).startsWith("200"));
    } finally {
      await service.stop();
    }
  });
});

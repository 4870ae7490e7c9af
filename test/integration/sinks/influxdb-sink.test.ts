import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { chassisFor } from "../../support/services.js";
import { decode } from "../../../schemas/codec.js";
import type { MetricBatch, MetricSample } from "../../../schemas/types.js";
import { startInfluxSink } from "../../../services/influxdb-sink/main.js";
import { influxSinkSettings } from "../../../services/influxdb-sink/settings.js";
import { kafkaClient, testDatabase, uniqueName } from "../../support/clients.js";
import { createDatabase, influxql, readPoints, type StoredPoint } from "../../support/influx.js";
import {
  committedTotal,
  createTopics,
  produceBatches,
  readTopic,
  waitFor,
} from "../../support/kafka.js";

const servers = inject("servers");
const kafka = kafkaClient(servers.kafka);
const admin = kafka.admin();
const T0 = Date.parse("2026-11-20T10:00:00Z");

const sample = (
  name: string,
  labels: Record<string, string>,
  value: number,
  timestamp: number,
): MetricSample => ({
  name,
  value,
  timestamp,
  labels,
  type: "gauge",
  unit: "",
  startTimestamp: null,
});

const hostile: MetricBatch = {
  source: "scrape/hostile",
  samples: [
    sample(
      "gpu temp, celsius",
      {
        "host name": "node 1",
        "k=v": "a,b=c",
        quote: 'say "hi"',
        path: String.raw`C:\temp\x`,
        model: "H100 ünï 😀",
      },
      71.25,
      T0,
    ),
    sample("requests_total", { code: "200", method: "GET" }, 1e21, T0 + 1),
    sample("requests_total", { code: "500", method: "GET", empty: "" }, -0.5, T0 + 2),
  ],
};

const expected = (batches: MetricBatch[]): StoredPoint[] =>
  batches
    .flatMap((b) => b.samples)
    .map((s) => ({
      measurement: s.name,
      tags: Object.fromEntries(Object.entries(s.labels).filter(([, v]) => v !== "")),
      value: s.value,
      time: s.timestamp,
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

async function sinkFor(input: string, deadLetter: string, db: string) {
  const groupId = uniqueName("influx-sink");
  const settings = influxSinkSettings.parse({
    ...chassisFor(servers.kafka),
    topics: { deadLetter },
    consumer: {
      groupId,
      topics: [input],
      sessionTimeout: "6s",
      retry: { initial: "100ms", max: "1s" },
      stallAfter: "2s",
    },
    influx: {
      url: servers.influx.url,
      org: servers.influx.org,
      bucket: `${db}/autogen`,
      maxLines: 2,
    },
  });
  return { groupId, service: await startInfluxSink(settings) };
}

const produce = (topic: string, batches: MetricBatch[]) => produceBatches(kafka, topic, batches);

describe("InfluxDB sink", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("writes what was produced so that InfluxDB gives it back field by field, hostile names included", async () => {
    const [input, dlq] = await createTopics(admin, 2, "influx-in", "influx-dlq");
    const db = await createDatabase(servers.influx);
    const more: MetricBatch = {
      source: "node/2",
      samples: [sample("cpu_used_percent", { host: "node-2" }, 93.5, T0 + 10_000)],
    };
    await produce(input!, [hostile, more]);

    const { groupId, service } = await sinkFor(input!, dlq!, db);
    try {
      await waitFor(
        "both records committed",
        async () => (await committedTotal(admin, groupId, input!)) === 2,
      );
      expect(await readPoints(servers.influx, db)).toEqual(expected([hostile, more]));
      expect(await readTopic(kafka, dlq!)).toEqual([]);
    } finally {
      await service.stop();
    }
  });

  it("writes nothing twice when the topic is replayed from offset 0", async () => {
    const [input, dlq] = await createTopics(admin, 1, "influx-replay", "influx-replay-dlq");
    const db = await createDatabase(servers.influx);
    await produce(input!, [hostile]);
    for (let run = 0; run < 2; run++) {
      const { groupId, service } = await sinkFor(input!, dlq!, db); // a new group reads from offset 0
      await waitFor(
        "the record committed",
        async () => (await committedTotal(admin, groupId, input!)) === 1,
      );
      await service.stop();
    }
    expect(await readPoints(servers.influx, db)).toEqual(expected([hostile]));
  });

  it("dead-letters a point with a conflicting field type with the server's reason and writes the rest", async () => {
    const [input, dlq] = await createTopics(admin, 1, "influx-poison", "influx-poison-dlq");
    const db = await createDatabase(servers.influx);
    // Another writer already stored this measurement's `value` as a string.
    await fetch(`${servers.influx.url}/write?db=${db}&precision=ms`, {
      method: "POST",
      body: `gpu_power_watts,host=old value="n/a" ${T0}`,
    });
    const good: MetricBatch = {
      source: "node/3",
      samples: [
        sample("gpu_util_percent", { host: "node-3" }, 88, T0),
        sample("gpu_mem_used_bytes", { host: "node-3" }, 4e10, T0),
      ],
    };
    const poison: MetricBatch = {
      source: "node/4",
      samples: [
        sample("gpu_power_watts", { host: "node-4" }, 312.5, T0),
        sample("gpu_util_percent", { host: "node-4" }, 12, T0),
      ],
    };
    await produce(input!, [good, poison]);

    const { groupId, service } = await sinkFor(input!, dlq!, db);
    try {
      await waitFor(
        "both records committed",
        async () => (await committedTotal(admin, groupId, input!)) === 2,
      );
    } finally {
      await service.stop();
    }
    const letters = (await readTopic(kafka, dlq!)).map((r) => decode("dead-letter", r.value));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      originalTopic: input,
      offset: 1,
      failedStage: "influxdb-sink",
      errorCode: "VGL_SINK_REJECTED",
    });
    expect(letters[0]!.errorMessage).toMatch(
      /^gpu_power_watts,host=node-4 value=312.5 \d+ → InfluxDB 400: .*field type conflict/,
    );
    expect(decode("metric-batch", letters[0]!.value)).toEqual(poison);
    const stored = (await readPoints(servers.influx, db)).filter(
      (p) => p.measurement !== "gpu_power_watts",
    );
    expect(stored).toEqual(expected([good, { ...poison, samples: [poison.samples[1]!] }]));
    await influxql(servers.influx, `DROP DATABASE "${db}"`);
  });

  it("dead-letters points InfluxDB refuses by echoing them whole, in a letter that fits Kafka, and writes the rest", async () => {
    const [input, dlq] = await createTopics(admin, 1, "influx-echo-in", "influx-echo-dlq");
    const db = await createDatabase(servers.influx);
    // InfluxDB refuses a 70 KB tag (over its 64 KiB key limit) quoting the whole line back.
    const huge = (i: number) => `${i}`.padEnd(70_000, "abcdefghijklmnopqrstuvwxyz");
    const batch: MetricBatch = {
      source: "node/echo",
      samples: [
        ...Array.from({ length: 12 }, (_, i) =>
          sample("gpu_util_percent", { host: "node-9", blob: huge(i) }, i, T0 + i),
        ),
        sample("gpu_util_percent", { host: "node-9" }, 42, T0 + 100),
      ],
    };
    await produce(input!, [batch]);
    const { groupId, service } = await sinkFor(input!, dlq!, db);
    try {
      await waitFor(
        "the record committed",
        async () => (await committedTotal(admin, groupId, input!)) === 1,
      );
    } finally {
      await service.stop();
    }
    const records = await readTopic(kafka, dlq!);
    expect(records).toHaveLength(1);
    expect(records[0]!.value!.length).toBeLessThan(1024 * 1024);
    const letter = decode("dead-letter", records[0]!.value);
    expect(letter).toMatchObject({
      originalTopic: input,
      offset: 0,
      errorCode: "VGL_SINK_REJECTED",
    });
    expect(Buffer.byteLength(letter.errorMessage)).toBeLessThanOrEqual(8 * 1024);
    expect(letter.errorMessage).toMatch(/unable to parse .* \(\+7 more\)$/);
    // The record (840 KB) is larger than a letter keeps: it stays at its offset, by reference.
    expect(letter.value).toBeNull();
    expect(letter.omitted?.value).toBeGreaterThan(840_000);
    const stored = await readPoints(servers.influx, db);
    expect(stored.map((p) => p.value)).toEqual([42]);
    await influxql(servers.influx, `DROP DATABASE "${db}"`);
  });

  it("holds the partition, turns /readyz red and dead-letters nothing while its database is missing, then writes everything", async () => {
    const [input, dlq] = await createTopics(admin, 1, "influx-nodb-in", "influx-nodb-dlq");
    const db = testDatabase("missing");
    const batch: MetricBatch = {
      source: "node/5",
      samples: [sample("gpu_util_percent", { host: "node-5" }, 77, T0)],
    };
    await produce(input!, [batch, batch]);
    const { groupId, service } = await sinkFor(input!, dlq!, db);
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${service.http.port}/readyz`);
      return `${response.status} ${await response.text()}`;
    };
    try {
      await waitFor("readyz red", async () => (await readyz()).startsWith("503"), 20_000);
      expect(await readyz()).toMatch(/no progress .*configuration fault: .*database not found/);
      expect(await committedTotal(admin, groupId, input!)).toBe(0);
      expect(await readTopic(kafka, dlq!)).toEqual([]);

      await influxql(servers.influx, `CREATE DATABASE "${db}"`);
      await waitFor(
        "both records committed",
        async () => (await committedTotal(admin, groupId, input!)) === 2,
      );
      await waitFor("readyz green", async () => (await readyz()).startsWith("200"));
    } finally {
      await service.stop();
    }
    expect(await readTopic(kafka, dlq!)).toEqual([]);
    expect(await readPoints(servers.influx, db)).toEqual(expected([batch]));
    await influxql(servers.influx, `DROP DATABASE "${db}"`);
  }, 60_000);
});

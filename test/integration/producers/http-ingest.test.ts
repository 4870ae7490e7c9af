import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chassisFor } from "../../support/services.js";
import { InfluxDB, Point } from "@influxdata/influxdb-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode } from "../../../schemas/codec.js";
import { startIngest, type IngestService } from "../../../services/http-ingest/main.js";
import { ingestSettings } from "../../../services/http-ingest/settings.js";
import { freePort, kafkaClient } from "../../support/clients.js";
import { createTopics, readTopic, recordCount, spawnService } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const TOKEN = "s3cret-ingest-token";

describe("HTTP ingest", () => {
  let metricsTopic: string;
  let logsTopic: string;
  let ingest: IngestService;
  let base: string;

  beforeAll(async () => {
    await admin.connect();
    [metricsTopic, logsTopic] = (await createTopics(admin, 3, "ingest-metrics", "ingest-logs")) as [
      string,
      string,
    ];
    process.env.VIGIL_TEST_INGEST_TOKEN = TOKEN;
    ingest = await startIngest(
      ingestSettings.parse({
        ...chassisFor(endpoint),
        ingest: {
          port: 0,
          token: { env: "VIGIL_TEST_INGEST_TOKEN" },
          maxBodyBytes: 64 * 1024,
          metricsTopic,
          logsTopic,
        },
      }),
    );
    base = `http://127.0.0.1:${ingest.ingestPort}`;
  });
  afterAll(async () => {
    await ingest.stop();
    await admin.disconnect();
  });

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: "POST",
      body,
      headers: { authorization: `Token ${TOKEN}`, ...headers },
    });

  it("takes writes from an unchanged InfluxDB client and puts them on Kafka, keyed by host", async () => {
    const writer = new InfluxDB({ url: base, token: TOKEN }).getWriteApi(
      "any-org",
      "any-bucket",
      "ms",
    );
    writer.writePoint(
      new Point("gpu")
        .tag("host", "node-1")
        .tag("gpu", "0")
        .floatField("temperature", 71.5)
        .intField("power", 350)
        .timestamp(1_764_000_000_000),
    );
    writer.writePoint(
      new Point("gpu")
        .tag("host", "node-2")
        .tag("gpu", "3")
        .floatField("temperature", 64)
        .timestamp(1_764_000_000_000),
    );
    await writer.close();

    const records = await readTopic(kafka, metricsTopic);
    const byHost = new Map(records.map((r) => [r.key, decode("metric-batch", r.value)]));
    expect(
      byHost.get("node-1")!.samples.map((s) => [s.name, s.value, s.timestamp, s.labels]),
    ).toEqual([
      ["gpu_power", 350, 1_764_000_000_000, { host: "node-1", gpu: "0" }],
      ["gpu_temperature", 71.5, 1_764_000_000_000, { host: "node-1", gpu: "0" }],
    ]);
    expect(byHost.get("node-2")!.source).toBe("http-ingest/node-2");
  });

  it("accepts gzipped v1 writes with the token as the password query parameter", async () => {
    const before = await recordCount(admin, metricsTopic);
    const response = await fetch(`${base}/write?db=telegraf&precision=s&u=telegraf&p=${TOKEN}`, {
      method: "POST",
      headers: { "content-encoding": "gzip" },
      body: gzipSync("mem,host=node-9 used_percent=81.5 1764000000\n"),
    });
    expect(response.status).toBe(204);
    expect(await recordCount(admin, metricsTopic)).toBe(before + 1);
  });

  it("writes the good lines of a body and answers InfluxDB's partial write naming each bad line", async () => {
    const before = await readTopic(kafka, metricsTopic);
    const response = await post(
      "/api/v2/write?precision=ms",
      [
        "cpu,host=partial-a usage=1 1764000000000",
        "cpu,host=partial-a usage=high 1764000000000",
        'log,host=partial-b msg="two\nlines",usage=2 1764000000000',
        "cpu,host=partial-c,host=partial-d usage=3 1764000000000",
        "",
      ].join("\n"),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error:
        'partial write: line 2: invalid value "high" for field "usage"; line 5: duplicate tag key "host" dropped=2',
      code: "invalid",
      message:
        'partial write: line 2: invalid value "high" for field "usage"; line 5: duplicate tag key "host" dropped=2',
    });
    // The two good lines (one with a string field over two lines) are on Kafka.
    const after = await readTopic(kafka, metricsTopic);
    const samples = after
      .slice(before.length)
      .flatMap((r) => decode("metric-batch", r.value).samples)
      .map((s) => [s.name, s.value, s.labels.host]);
    expect(samples).toEqual(
      expect.arrayContaining([
        ["cpu_usage", 1, "partial-a"],
        ["log_usage", 2, "partial-b"],
      ]),
    );
    expect(samples).toHaveLength(2);
  });

  it("answers Telegraf's CREATE DATABASE on /query as InfluxDB 1.x does, and refuses other queries", async () => {
    // What Telegraf's v1 influxdb output sends when it starts.
    const created = await post("/query", "q=CREATE+DATABASE+%22telegraf%22", {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect([created.status, await created.json()]).toEqual([
      200,
      { results: [{ statement_id: 0 }] },
    ]);
    const select = await post("/query?q=SELECT+*+FROM+cpu", "");
    expect(select.status).toBe(400);
    expect(((await select.json()) as { error: string }).error).toContain(
      "ingest takes writes only",
    );
    expect(
      (
        await fetch(`${base}/query?q=CREATE+DATABASE+x`, {
          method: "POST",
          headers: { authorization: "Token wrong" },
        })
      ).status,
    ).toBe(401);
  });

  it("refuses a wrong token, an oversize body and an unknown path with the right status", async () => {
    expect((await post("/write", "cpu v=1", { authorization: "Token wrong" })).status).toBe(401);
    expect((await fetch(`${base}/write`, { method: "POST", body: "cpu v=1" })).status).toBe(401);
    expect((await post("/write", `cpu v=1\n`.repeat(20_000))).status).toBe(413);
    expect(
      (await post("/write", gzipSync(`cpu v=1\n`.repeat(20_000)), { "content-encoding": "gzip" }))
        .status,
    ).toBe(413);
    expect((await post("/nope", "x")).status).toBe(404);
    expect((await fetch(`${base}/ping`)).status).toBe(204);
  });

  it("takes JSON-lines logs and rejects a bad line by number", async () => {
    const body = [
      JSON.stringify({
        timestamp: "2026-11-25T10:00:00Z",
        severity: "error",
        message: "NCCL timeout",
        host: "node-4",
        service: "trainer",
      }),
      JSON.stringify({
        timestamp: "2026-11-25T10:00:01Z",
        severity: "info",
        message: "restarting rank 3",
        host: "node-4",
        service: "trainer",
      }),
    ].join("\n");
    expect((await post("/logs", body)).status).toBe(204);
    const [record] = await readTopic(kafka, logsTopic);
    expect(record!.key).toBe("node-4");
    expect(decode("log-batch", record!.value).events.map((e) => [e.severity, e.message])).toEqual([
      ["error", "NCCL timeout"],
      ["info", "restarting rank 3"],
    ]);
    const bad = await post("/logs", '{"message":"fine"}\n{"message": 42}');
    expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([
      400,
      "line 2: message: expected a string",
    ]);
  });
});

describe("HTTP ingest under backpressure", () => {
  it("answers 429 instead of buffering once the bytes in flight pass the bound", async () => {
    const fresh = kafka.admin();
    await fresh.connect();
    const [topic] = await createTopics(fresh, 1, "ingest-bp");
    await fresh.disconnect();
    const ingest = await startIngest(
      ingestSettings.parse({
        ...chassisFor(endpoint),
        ingest: { port: 0, auth: "none", maxInFlightBytes: 1, metricsTopic: topic },
      }),
    );
    try {
      const body = Array.from(
        { length: 2_000 },
        (_, i) => `cpu,host=h${i % 10} usage=${i} ${1_764_000_000_000 + i}`,
      ).join("\n");
      const statuses = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`http://127.0.0.1:${ingest.ingestPort}/write?precision=ms`, {
            method: "POST",
            body,
          }).then((r) => r.status),
        ),
      );
      expect(statuses).toContain(204);
      expect(statuses).toContain(429);
      expect(statuses.every((s) => s === 204 || s === 429)).toBe(true);
    } finally {
      await ingest.stop();
    }
  });

  it("keeps its memory within a 512 MiB container while 20 clients send 10 MiB bodies at once", async () => {
    const fresh = kafka.admin();
    await fresh.connect();
    const [topic] = await createTopics(fresh, 3, "ingest-rss");
    await fresh.disconnect();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "vigil-ingest-rss-"));
    const config = join(dir, "ingest.yaml");
    // The shipped defaults: 10 MiB bodies, the default in-flight budget.
    writeFileSync(config, `ingest:\n  port: ${port}\n  auth: none\n  metricsTopic: ${topic}\n`);
    const ingest = spawnService("services/http-ingest/main.ts", endpoint, { VIGIL_CONFIG: config });
    try {
      await ingest.port;
      const lines: string[] = [];
      for (let size = 0, i = 0; size < 10 * 2 ** 20 - 200; i++) {
        const line = `gpu_util,host=node-${i % 500},gpu=${i % 8} value=${i},temp=${i % 90} ${1_764_000_000_000 + i}`;
        lines.push(line);
        size += line.length + 1;
      }
      const body = lines.join("\n");
      const statuses = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`http://127.0.0.1:${port}/write?precision=ms`, { method: "POST", body }).then(
            (r) => r.status,
          ),
        ),
      );
      expect(statuses).toContain(204);
      expect(statuses).toContain(429);
      expect(statuses.every((s) => s === 204 || s === 429)).toBe(true);
      const peakKiB = Number(
        /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${ingest.child.pid}/status`, "utf8"))![1],
      );
      console.log(
        `http-ingest peak RSS with 20 concurrent 10 MiB bodies: ${Math.round(peakKiB / 1024)} MiB`,
      );
      expect(peakKiB * 1024).toBeLessThan(512 * 2 ** 20);
    } finally {
      ingest.child.kill("SIGTERM");
      await ingest.exited;
    }
  }, 120_000);

  it("splits many large points into records Kafka takes, and answers 413, not 503, for one point over its limit", async () => {
    const fresh = kafka.admin();
    await fresh.connect();
    const [topic] = await createTopics(fresh, 1, "ingest-large");
    await fresh.disconnect();
    const ingest = await startIngest(
      ingestSettings.parse({
        ...chassisFor(endpoint),
        ingest: { port: 0, auth: "none", maxBodyBytes: 8 * 2 ** 20, metricsTopic: topic },
      }),
    );
    const write = (body: string) =>
      fetch(`http://127.0.0.1:${ingest.ingestPort}/write?precision=ms`, { method: "POST", body });
    try {
      // 5 MiB: 2 000 points of one host, each with a 2.5 KB label — one record would be refused.
      const label = "x".repeat(2_500);
      const many = Array.from(
        { length: 2_000 },
        (_, i) => `gpu_util,host=node-1,note=${label} value=${i} ${1_764_000_000_000 + i}`,
      ).join("\n");
      expect((await write(many)).status).toBe(204);
      const samples = (await readTopic(kafka, topic!)).flatMap(
        (r) => decode("metric-batch", r.value).samples,
      );
      expect(samples.map((s) => s.value)).toEqual(Array.from({ length: 2_000 }, (_, i) => i));

      // Letters gzip cannot squeeze: Kafka's limit applies to the compressed batch.
      const noise = [...randomBytes(3 * 2 ** 20)].map((b) => String.fromCharCode(97 + (b % 26)));
      const huge = `gpu_util,host=node-1,note=${noise.join("")} value=1 1764000000000`;
      const refused = await write(huge);
      expect(refused.status).toBe(413);
      expect(refused.headers.get("retry-after")).toBeNull();
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /larger than Kafka's record limit/,
      );
    } finally {
      await ingest.stop();
    }
  }, 60_000);
});

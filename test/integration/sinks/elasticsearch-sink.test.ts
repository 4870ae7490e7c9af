import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { chassisFor } from "../../support/services.js";
import { decode, encode } from "../../../schemas/codec.js";
import type { Alert, LogBatch, LogEvent } from "../../../schemas/types.js";
import { startElasticsearchSink } from "../../../services/elasticsearch-sink/main.js";
import { elasticsearchSinkSettings } from "../../../services/elasticsearch-sink/settings.js";
import { resolveMode } from "../../../services/elasticsearch-sink/templates.js";
import { elasticsearchClient, kafkaClient, testIndex, uniqueName } from "../../support/clients.js";
import { committedTotal, createTopics, readTopic, waitFor } from "../../support/kafka.js";

const servers = inject("servers");
const kafka = kafkaClient(servers.kafka);
const admin = kafka.admin();
const es = elasticsearchClient(servers.elasticsearch);
const T0 = Date.parse("2026-11-20T10:00:00Z");

const event = (over: Partial<LogEvent>): LogEvent => ({
  timestamp: T0,
  severity: "error",
  message: "CUDA error: an illegal memory access was encountered",
  service: "trainer",
  host: "gpu-node-7",
  attributes: {},
  traceId: null,
  spanId: null,
  ...over,
});

const logs: LogBatch = {
  source: "log-shipper/gpu-node-7",
  events: [
    event({
      attributes: { job: "llama-70b", rank: "3" },
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
    }),
    event({
      timestamp: T0 + 1,
      severity: "info",
      message: "step 1200: loss=1.83 — ünï 😀",
      attributes: { job: "llama-70b" },
    }),
    event({
      timestamp: T0 + 1,
      severity: "info",
      message: "step 1200: loss=1.83 — ünï 😀",
      attributes: { job: "llama-70b" },
    }), // logged twice: two events
  ],
};

const alert: Alert = {
  fingerprint: "9f2c1b",
  rule: "GpuTemperatureHigh",
  severity: "critical",
  status: "firing",
  labels: { host: "gpu-node-7", gpu: "3" },
  annotations: {
    summary: "GPU 3 on gpu-node-7 at 91 °C",
    description: "",
    runbook_url: "https://runbooks.example/gpu-temp",
  },
  startsAt: T0,
  endsAt: null,
  value: 91,
  threshold: 85,
  resend: false,
  flapping: false,
  sentAt: 0,
};

async function produce(topic: string, messages: { key: string; value: Buffer }[]) {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
}

async function sinkFor(
  topics: { logs: string; alerts?: string; dlq: string },
  indices: { logIndex: string; alertIndex: string },
  mode: "auto" | "dated" | "data-stream" = "auto",
  extra: Record<string, unknown> = {},
) {
  const groupId = uniqueName("es-sink");
  const settings = elasticsearchSinkSettings.parse({
    ...chassisFor(servers.kafka, topics.dlq),
    consumer: {
      groupId,
      topics: [topics.logs, ...(topics.alerts ? [topics.alerts] : [])],
      sessionTimeout: "6s",
      retry: { initial: "100ms", max: "1s" },
    },
    alertTopics: topics.alerts ? [topics.alerts] : [],
    elasticsearch: { url: servers.elasticsearch.url, ...indices, mode, maxDocs: 2, ...extra },
  });
  return { groupId, service: await startElasticsearchSink(settings) };
}

async function search(index: string) {
  await es.indices.refresh({
    index: `${index}*`,
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  const found = await es.search<Record<string, unknown>>({
    index: `${index}*`,
    size: 100,
    sort: [{ "@timestamp": "asc" }, { severity: "asc" }],
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  return found.hits.hits;
}

const names = () => {
  const id = testIndex("t");
  return { logIndex: `${id}-logs`, alertIndex: `${id}-alerts` };
};

describe("Elasticsearch sink", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("writes log events and alerts that a search gives back field by field", async () => {
    const [logTopic, alertTopic, dlq] = await createTopics(
      admin,
      2,
      "es-logs",
      "es-alerts",
      "es-dlq",
    );
    const indices = names();
    await produce(logTopic!, [{ key: logs.source, value: encode("log-batch", logs) }]);
    await produce(alertTopic!, [{ key: alert.fingerprint, value: encode("alert", alert) }]);

    const { groupId, service } = await sinkFor(
      { logs: logTopic!, alerts: alertTopic!, dlq: dlq! },
      indices,
    );
    try {
      await waitFor(
        "both topics committed",
        async () =>
          (await committedTotal(admin, groupId, logTopic!)) +
            (await committedTotal(admin, groupId, alertTopic!)) ===
          2,
      );
    } finally {
      await service.stop();
    }
    const docs = (await search(indices.logIndex)).map((hit) => hit._source);
    expect(docs).toEqual([
      {
        "@timestamp": "2026-11-20T10:00:00.000Z",
        severity: "error",
        message: logs.events[0]!.message,
        service: "trainer",
        host: "gpu-node-7",
        source: logs.source,
        attributes: { job: "llama-70b", rank: "3" },
        trace: { id: "4bf92f3577b34da6a3ce929d0e0e4736" },
        span: { id: "00f067aa0ba902b7" },
      },
      ...[1, 2].map(() => ({
        "@timestamp": "2026-11-20T10:00:00.001Z",
        severity: "info",
        message: "step 1200: loss=1.83 — ünï 😀",
        service: "trainer",
        host: "gpu-node-7",
        source: logs.source,
        attributes: { job: "llama-70b" },
      })),
    ]);
    expect((await search(indices.alertIndex)).map((hit) => hit._source)).toEqual([
      {
        "@timestamp": "2026-11-20T10:00:00.000Z",
        fingerprint: "9f2c1b",
        rule: "GpuTemperatureHigh",
        severity: "critical",
        status: "firing",
        labels: { gpu: "3", host: "gpu-node-7" },
        summary: alert.annotations.summary,
        description: "",
        runbook_url: alert.annotations.runbook_url,
        startsAt: "2026-11-20T10:00:00.000Z",
        endsAt: null,
        value: 91,
        threshold: 85,
      },
    ]);
    // Logs go to a data stream where the server has them, else to one index per day: whichever
    // the server supports, that is what holds them now.
    const mode = await resolveMode(es, "auto");
    if (mode === "data-stream") {
      const { data_streams } = await es.indices.getDataStream({ name: indices.logIndex });
      expect(data_streams.map((d) => d.name)).toEqual([indices.logIndex]);
    } else {
      const dated = Object.keys(await es.indices.get({ index: `${indices.logIndex}-*` }));
      expect(dated).toEqual([`${indices.logIndex}-2026.11.20`]);
    }
    const mapping = await es.indices.getMapping({ index: `${indices.logIndex}*` });
    const properties = Object.values(mapping)[0]!.mappings.properties!;
    expect([
      properties.message?.type,
      properties["@timestamp"]?.type,
      properties.host?.type,
    ]).toEqual(["text", "date", "keyword"]);
  });

  it("creates no duplicate document when the topic is replayed from offset 0, in dated indices too", async () => {
    const [logTopic, dlq] = await createTopics(admin, 1, "es-replay", "es-replay-dlq");
    const indices = names();
    await produce(logTopic!, [{ key: logs.source, value: encode("log-batch", logs) }]);
    for (let run = 0; run < 2; run++) {
      const { groupId, service } = await sinkFor({ logs: logTopic!, dlq: dlq! }, indices, "dated");
      await waitFor(
        "the record committed",
        async () => (await committedTotal(admin, groupId, logTopic!)) === 1,
      );
      await service.stop();
    }
    const hits = await search(indices.logIndex);
    expect(hits.map((hit) => hit._index)).toEqual(
      [1, 2, 3].map(() => `${indices.logIndex}-2026.11.20`),
    );
    expect(new Set(hits.map((hit) => hit._id)).size).toBe(3);
  });

  it("dead-letters a document that fails mapping with Elasticsearch's reason and writes the rest", async () => {
    const [logTopic, dlq] = await createTopics(admin, 1, "es-poison", "es-poison-dlq");
    const indices = names();
    const poison: LogBatch = {
      source: "log-shipper/web-1",
      events: [
        event({ message: "GET /health 500", attributes: { http: "GET", "http.status": "500" } }),
      ],
    };
    await produce(logTopic!, [
      { key: logs.source, value: encode("log-batch", logs) },
      { key: poison.source, value: encode("log-batch", poison) },
    ]);
    const { groupId, service } = await sinkFor({ logs: logTopic!, dlq: dlq! }, indices);
    try {
      await waitFor(
        "both records committed",
        async () => (await committedTotal(admin, groupId, logTopic!)) === 2,
      );
    } finally {
      await service.stop();
    }
    expect(await search(indices.logIndex)).toHaveLength(3);
    const letters = (await readTopic(kafka, dlq!)).map((r) => decode("dead-letter", r.value));
    expect(letters.map((l) => [l.originalTopic, l.offset, l.failedStage, l.errorCode])).toEqual([
      [logTopic, 1, "elasticsearch-sink", "VGL_SINK_REJECTED"],
    ]);
    expect(letters[0]!.errorMessage).toMatch(
      /: Elasticsearch 400 \w+: .*mapping \[attributes\.http\]/,
    );
    expect(decode("log-batch", letters[0]!.value)).toEqual(poison);
  });

  it("keeps one client's thousand attribute keys flattened, so everyone else's new keys still map", async () => {
    const [logTopic, dlq] = await createTopics(admin, 1, "es-fields", "es-fields-dlq");
    const indices = names();
    const noisy: LogBatch = {
      source: "http-ingest/noisy",
      events: [
        event({
          attributes: Object.fromEntries(
            Array.from({ length: 1_000 }, (_, i) => [`k${i}`, `v${i}`]),
          ),
        }),
      ],
    };
    const other: LogBatch = {
      source: "log-shipper/gpu-node-7",
      events: [event({ timestamp: T0 + 1, attributes: { xid: "79", job: "llama-70b" } })],
    };
    await produce(logTopic!, [
      { key: noisy.source, value: encode("log-batch", noisy) },
      { key: other.source, value: encode("log-batch", other) },
    ]);
    const { groupId, service } = await sinkFor({ logs: logTopic!, dlq: dlq! }, indices, "dated", {
      fieldBudget: { perSource: 50, perIndex: 200 },
    });
    try {
      await waitFor(
        "both records committed",
        async () => (await committedTotal(admin, groupId, logTopic!)) === 2,
      );
      const metrics = await (await fetch(`http://127.0.0.1:${service.http.port}/metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(
          `vigil_attributes_flattened_total\\{index="${indices.logIndex}-2026.11.20",[^}]*\\} 950`,
        ),
      );
    } finally {
      await service.stop();
    }
    expect(await readTopic(kafka, dlq!)).toEqual([]);
    const [first, second] = await search(indices.logIndex);
    const noisyDoc = first!._source as { attributes: object; attributes_extra: object };
    expect(Object.keys(noisyDoc.attributes)).toHaveLength(50);
    expect(Object.keys(noisyDoc.attributes_extra)).toHaveLength(950);
    expect((second!._source as { attributes: object }).attributes).toEqual({
      xid: "79",
      job: "llama-70b",
    });
    // Flattened attributes are still found by key and value.
    const found = await es.search({
      index: `${indices.logIndex}*`,
      query: { term: { "attributes_extra.k999": "v999" } },
    });
    expect(found.hits.hits).toHaveLength(1);
  }, 60_000);
});

// Producer figures: exposition parsing (samples/s, in process), line-protocol parsing (lines/s,
// in process) and line-protocol ingest end to end (lines/s from HTTP request to Kafka's
// acknowledgement), with the request sizes used.
import { chassisFor } from "../test/support/services.js";
import { readFileSync } from "node:fs";
import { parseBody } from "../services/http-ingest/line-protocol.js";
import { startIngest } from "../services/http-ingest/main.js";
import { ingestSettings } from "../services/http-ingest/settings.js";
import { parseExposition } from "../services/prometheus-scrape/exposition.js";
import { kafkaClient, uniqueName } from "../test/support/clients.js";
import type { KafkaEndpoint } from "../test/support/servers.js";
import { bench, opsPerSecond } from "./fixtures.js";

function exporterPage(series: number): string {
  const head = readFileSync("test/fixtures/exposition/node-exporter.txt", "utf8");
  const body = Array.from(
    { length: series },
    (_, i) => `node_cpu_seconds_total{cpu="${i % 128}",mode="m${i}"} ${i * 1.5}`,
  );
  return `${head}# TYPE node_cpu_seconds_total counter\n${body.join("\n")}\n`;
}

function lineBody(lines: number, offset: number): string {
  return Array.from(
    { length: lines },
    (_, i) =>
      `gpu,host=node-${i % 64},gpu=${i % 8} temperature=${60 + (i % 30)},power=${300 + i}i ${1_764_000_000_000_000_000n + BigInt((offset + i) * 1_000_000)}`,
  ).join("\n");
}

export async function producersBench(endpoint: KafkaEndpoint): Promise<void> {
  const page = exporterPage(5_000);
  const samples = parseExposition(page).length;
  bench("exposition_parse", opsPerSecond(() => parseExposition(page), 1500) * samples, "samples/s");

  const body = lineBody(5_000, 0);
  bench("line_protocol_parse", opsPerSecond(() => parseBody(body), 1500) * 5_000, "lines/s");

  const admin = kafkaClient(endpoint).admin();
  await admin.connect();
  const topic = uniqueName("bench-ingest");
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
  });
  await admin.disconnect();
  const ingest = await startIngest(
    ingestSettings.parse({
      ...chassisFor(endpoint),
      ingest: { port: 0, auth: "none", metricsTopic: topic },
    }),
  );
  const requests = 60;
  const bodies = Array.from({ length: requests }, (_, r) => lineBody(5_000, r * 5_000));
  const url = `http://127.0.0.1:${ingest.ingestPort}/write?precision=ns`;
  const start = performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (sent < requests) {
        const body = bodies[sent++]!;
        const response = await fetch(url, { method: "POST", body });
        if (response.status !== 204)
          throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await ingest.stop();
  bench("line_protocol_ingest_5000_lines_per_request", (requests * 5_000) / seconds, "lines/s");
}

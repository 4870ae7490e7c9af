// Sustained write rates into the real stores through the sinks' writers, with the batch sizes
// the sinks use by default: points/s into InfluxDB (5 000 lines a request, gzip), documents/s
// into Elasticsearch (1 000 documents a bulk request).
import { createMetrics } from "../services/chassis/metrics.js";
import { documentsOf } from "../services/elasticsearch-sink/handler.js";
import { elasticsearchSettings } from "../services/elasticsearch-sink/settings.js";
import { createClient, createDocWriter } from "../services/elasticsearch-sink/writer.js";
import { toLine } from "../services/influxdb-sink/line-protocol.js";
import { influxSettings } from "../services/influxdb-sink/settings.js";
import { createInfluxWriter } from "../services/influxdb-sink/writer.js";
import { uniqueName } from "../test/support/clients.js";
import { createDatabase, influxql } from "../test/support/influx.js";
import type { TestServers } from "../test/support/servers.js";
import { bench, scrapeBatch } from "./fixtures.js";

export async function sinksBench(servers: TestServers): Promise<void> {
  const db = await createDatabase(servers.influx);
  const influx = influxSettings.parse({ url: servers.influx.url, bucket: `${db}/autogen` });
  const lines: string[] = [];
  for (let tick = 0; lines.length < 300_000; tick++) {
    for (const sample of scrapeBatch(`node-${tick % 50}`, 250, 1_764_000_000_000 + tick * 10_000)
      .samples) {
      const line = toLine(sample);
      if (line.ok) lines.push(line.line);
    }
  }
  const writer = createInfluxWriter(influx, createMetrics("bench"));
  let start = performance.now();
  const refused = await writer.write(lines);
  let seconds = (performance.now() - start) / 1000;
  if (refused.size > 0) throw new Error(`InfluxDB refused ${refused.size} points`);
  bench(`sink_influxdb_points_batch${influx.maxLines}`, lines.length / seconds, "points/s");
  await influxql(servers.influx, `DROP DATABASE "${db}"`);

  const es = elasticsearchSettings.parse({ url: servers.elasticsearch.url });
  const client = createClient(es);
  const logIndex = `vigil-bench-${uniqueName("b").toLowerCase()}`;
  const docs = Array.from({ length: 400 }, (_, i) =>
    documentsOf(
      {
        kind: "logs",
        batch: {
          source: `shipper/node-${i % 50}`,
          events: Array.from({ length: 250 }, (_, e) => ({
            timestamp: 1_764_000_000_000 + i * 1000 + e,
            severity: "info" as const,
            message: `step ${i * 250 + e}: loss=${(2 - e / 500).toFixed(4)} tokens/s=${31_000 + e}`,
            service: "trainer",
            host: `node-${i % 50}`,
            attributes: { job: "llama-70b", rank: String(e % 8) },
            traceId: null,
            spanId: null,
          })),
        },
      },
      { mode: "dated", logIndex, alertIndex: `${logIndex}-x` },
    ),
  ).flat();
  const docWriter = createDocWriter(client, es, createMetrics("bench"));
  start = performance.now();
  const refusedDocs = await docWriter.write(docs);
  seconds = (performance.now() - start) / 1000;
  if (refusedDocs.size > 0) throw new Error(`Elasticsearch refused ${refusedDocs.size} documents`);
  bench(`sink_elasticsearch_docs_batch${es.maxDocs}`, docs.length / seconds, "docs/s");
  // Deleting by wildcard is refused (action.destructive_requires_name): name each index.
  await client.indices.delete({
    index: Object.keys(await client.indices.get({ index: `${logIndex}-*` })),
  });
  await client.close();
}

// The Elasticsearch sink service: log topics (and alerts, for history) → Elasticsearch, at least
// once, idempotently.   VIGIL_CONFIG=sink.yaml tsx services/elasticsearch-sink/main.ts
import { decode } from "../../schemas/codec.js";
import { loadConfig } from "../chassis/config.js";
import { createMetrics } from "../chassis/metrics.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { createElasticsearchHandler, type SinkInput } from "./handler.js";
import { elasticsearchSinkSettings, type ElasticsearchSinkSettings } from "./settings.js";
import { FieldBudget } from "./field-budget.js";
import { installTemplates, mappedAttributeKeys, resolveMode } from "./templates.js";
import { createClient, createDocWriter } from "./writer.js";

export async function startElasticsearchSink(
  settings: ElasticsearchSinkSettings,
): Promise<Service> {
  const name = settings.service ?? "elasticsearch-sink";
  const es = settings.elasticsearch;
  const metrics = createMetrics(name);
  const client = createClient(es);
  const mode = await resolveMode(client, es.mode);
  await installTemplates(client, mode, es.logIndex, es.alertIndex);
  const alertTopics = new Set(settings.alertTopics);
  const service = await startService<SinkInput>({
    name,
    settings,
    metrics,
    consume: {
      settings: settings.consumer,
      decode: (topic, value) =>
        alertTopics.has(topic)
          ? { kind: "alert", alert: decode("alert", value) }
          : { kind: "logs", batch: decode("log-batch", value) },
      handler: createElasticsearchHandler(
        createDocWriter(client, es, metrics),
        { mode, logIndex: es.logIndex, alertIndex: es.alertIndex },
        {
          fields: new FieldBudget(es.fieldBudget, (index) => mappedAttributeKeys(client, index)),
          metrics,
        },
      ),
    },
  });
  service.logger.info(
    { mode, logIndex: es.logIndex, alertIndex: es.alertIndex },
    "index templates installed",
  );
  const stop = service.stop;
  return { ...service, stop: async () => (await stop(), await client.close()) };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(elasticsearchSinkSettings);
  await runMain(() => startElasticsearchSink(settings), settings.shutdown.deadline);
}

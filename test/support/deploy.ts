// What the deploy-file tests share: each configurable service's settings schema, so a
// configuration file shipped in deploy/ is checked the way the service itself checks it.
import type { z } from "zod";
import { pipelineSettings } from "../../pipelines/config.js";
import { loadConfig } from "../../services/chassis/config.js";
import { elasticsearchSinkSettings } from "../../services/elasticsearch-sink/settings.js";
import { influxSinkSettings } from "../../services/influxdb-sink/settings.js";
import { notifierSettings } from "../../services/notifier/settings.js";
import { scrapeSettings } from "../../services/prometheus-scrape/settings.js";

export const DEPLOY_CONFIG_SCHEMAS: Record<string, z.ZodType> = {
  pipelines: pipelineSettings,
  "influxdb-sink": influxSinkSettings,
  "elasticsearch-sink": elasticsearchSinkSettings,
  notifier: notifierSettings,
  "prometheus-scrape": scrapeSettings,
};

/** Loads a configuration file with the named service's schema; throws naming the key if it is wrong. */
export function loadsWith(service: string, file: string): unknown {
  const schema = DEPLOY_CONFIG_SCHEMAS[service];
  if (!schema) throw new Error(`no configuration schema known for ${service}`);
  return loadConfig(schema, { file, env: {} });
}

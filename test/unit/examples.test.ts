// The example configurations the README points to must load as they are.
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { loadConfig } from "../../services/chassis/config.js";
import { detectorSettings } from "../../services/detector/settings.js";
import { notifierSettings } from "../../services/notifier/settings.js";
import { elasticsearchSinkSettings } from "../../services/elasticsearch-sink/settings.js";
import { gpuAgentSettings } from "../../services/gpu-agent/settings.js";
import { hostAgentSettings } from "../../services/host-agent/settings.js";
import { ingestSettings } from "../../services/http-ingest/settings.js";
import { influxSinkSettings } from "../../services/influxdb-sink/settings.js";
import { shipperSettings } from "../../services/log-shipper/settings.js";
import { scrapeSettings } from "../../services/prometheus-scrape/settings.js";

const examples: [string, z.ZodType][] = [
  ["host-agent", hostAgentSettings],
  ["gpu-agent", gpuAgentSettings],
  ["prometheus-scrape", scrapeSettings],
  ["log-shipper", shipperSettings],
  ["http-ingest", ingestSettings],
  ["influxdb-sink", influxSinkSettings],
  ["elasticsearch-sink", elasticsearchSinkSettings],
  ["detector", detectorSettings],
  ["notifier", notifierSettings],
];

describe("example configurations", () => {
  it.each(examples)("deploy/examples/%s.yaml loads and validates", (name, schema) => {
    expect(() =>
      loadConfig(schema, { file: `deploy/examples/${name}.yaml`, env: {} }),
    ).not.toThrow();
  });
});

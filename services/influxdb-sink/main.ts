// The InfluxDB sink service: metric topics → InfluxDB, at least once, idempotently.
//   VIGIL_CONFIG=sink.yaml tsx services/influxdb-sink/main.ts
import { decode } from "../../schemas/codec.js";
import type { MetricBatch } from "../../schemas/types.js";
import { loadConfig } from "../chassis/config.js";
import { createMetrics } from "../chassis/metrics.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { createInfluxHandler } from "./handler.js";
import { influxSinkSettings, type InfluxSinkSettings } from "./settings.js";
import { createInfluxWriter } from "./writer.js";

export async function startInfluxSink(settings: InfluxSinkSettings): Promise<Service> {
  const name = settings.service ?? "influxdb-sink";
  const metrics = createMetrics(name);
  const writer = createInfluxWriter(settings.influx, metrics);
  return startService<MetricBatch>({
    name,
    settings,
    metrics,
    consume: {
      settings: settings.consumer,
      decode: (_topic, value) => decode("metric-batch", value),
      handler: createInfluxHandler(writer, metrics),
    },
  });
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(influxSinkSettings);
  await runMain(() => startInfluxSink(settings), settings.shutdown.deadline);
}

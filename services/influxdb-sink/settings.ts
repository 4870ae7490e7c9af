// Configuration of the InfluxDB sink, on top of the chassis's (see services/chassis/settings.ts).
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { baseSettings, consumerSettings, secretRef } from "../chassis/settings.js";

export const influxSettings = z.strictObject({
  url: z.url().default("http://127.0.0.1:18086"),
  org: z.string().default(""),
  /** InfluxDB 2: a bucket name; InfluxDB 1.8: "database/retention-policy". */
  bucket: z.string().min(1).default("vigil/autogen"),
  /** A token (2.x), or "user:password" (1.8 with auth on); by reference, never inline. */
  token: secretRef.optional(),
  timeout: duration.default(10_000),
  /** One write request holds at most this many points and bytes. */
  maxLines: z.number().int().min(1).max(100_000).default(5_000),
  maxBytes: z.number().int().min(1024).max(50_000_000).default(2_000_000),
  /** Request bodies above this many bytes are gzipped. */
  gzipThreshold: z.number().int().min(0).default(1_000),
  /** zlib level of those bodies: 1 (the default) costs under a third of 6's CPU for ~5 % more bytes. */
  gzipLevel: z.number().int().min(1).max(9).default(1),
});

export const influxSinkSettings = baseSettings.extend({
  consumer: consumerSettings.default(
    consumerSettings.parse({
      groupId: "vigil-influxdb-sink",
      topics: [TOPICS.metricsClean.name, TOPICS.metricsAggregated.name],
    }),
  ),
  influx: influxSettings.default(influxSettings.parse({})),
});

export type InfluxSettings = z.infer<typeof influxSettings>;
export type InfluxSinkSettings = z.infer<typeof influxSinkSettings>;

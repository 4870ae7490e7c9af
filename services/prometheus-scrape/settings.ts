// Configuration of the Prometheus scrape producer, on top of the chassis's.
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { baseSettings, edgeBufferSettings } from "../chassis/settings.js";

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, "expected a Prometheus label name");

export const jobSettings = z
  .strictObject({
    name: z.string().min(1),
    interval: duration.default(15_000),
    timeout: duration.default(10_000),
    scheme: z.enum(["http", "https"]).default("http"),
    path: z.string().startsWith("/").default("/metrics"),
    /** Static targets, "host:port". */
    targets: z.array(z.string().regex(/^[^\s/]+:\d+$/, 'expected "host:port"')).default([]),
    /** Prometheus file_sd files (JSON or YAML lists of { targets, labels }), re-read when they change. */
    fileSd: z.array(z.string().min(1)).default([]),
    labels: z.record(labelName, z.string()).default({}),
  })
  .refine((job) => job.timeout <= job.interval, { message: "timeout must not exceed interval" });

export const scrapeSettings = baseSettings.extend({
  scrape: z.strictObject({
    topic: z.string().min(1).default(TOPICS.metricsRaw.name),
    /** How often file_sd files are checked for changes. */
    refresh: duration.default(5_000),
    jobs: z.array(jobSettings).min(1),
    /** Keep what Kafka cannot take on disk until it can; off when absent. */
    edgeBuffer: edgeBufferSettings.optional(),
  }),
});

export type JobSettings = z.infer<typeof jobSettings>;
export type ScrapeSettings = z.infer<typeof scrapeSettings>;

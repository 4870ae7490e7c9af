// Configuration of the Prometheus scrape producer, on top of the chassis's.
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { relabelRule } from "../chassis/relabel.js";
import { baseSettings, edgeBufferSettings, secretRef } from "../chassis/settings.js";

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
    /** Prometheus's relabel_configs: on each target (__address__, __scheme__, __metrics_path__). */
    relabelConfigs: z.array(relabelRule).default([]),
    /** Prometheus's metric_relabel_configs: on each scraped sample (__name__ is its name). */
    metricRelabelConfigs: z.array(relabelRule).default([]),
    /** Scraped labels win over the target's (else clashing ones become exported_*). */
    honorLabels: z.boolean().default(false),
    /** More samples than this (after metric relabelling) fails the scrape; 0: no limit. */
    sampleLimit: z.number().int().min(0).default(0),
    /** A sample with more labels than this fails the scrape; 0: no limit. */
    labelLimit: z.number().int().min(0).default(0),
    /** Largest page read; a larger one fails the scrape. */
    bodySizeLimit: z
      .number()
      .int()
      .min(1024)
      .default(64 * 2 ** 20),
    /** HTTP authentication, the secrets by reference. */
    auth: z
      .union([
        z.strictObject({ basic: z.strictObject({ username: z.string(), password: secretRef }) }),
        z.strictObject({ bearer: secretRef }),
      ])
      .optional(),
    /** TLS for https targets: the CA to trust, a client certificate, the name to check. */
    tls: z
      .strictObject({
        ca: secretRef.optional(),
        cert: secretRef.optional(),
        key: secretRef.optional(),
        serverName: z.string().optional(),
        insecureSkipVerify: z.boolean().default(false),
      })
      .refine((t) => (t.cert === undefined) === (t.key === undefined), {
        message: "cert and key go together",
      })
      .optional(),
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

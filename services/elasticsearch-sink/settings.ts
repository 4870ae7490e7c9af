// Configuration of the Elasticsearch sink, on top of the chassis's.
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { baseSettings, consumerSettings, secretRef } from "../chassis/settings.js";

export const elasticsearchSettings = z
  .strictObject({
    url: z.url().default("http://127.0.0.1:19200"),
    apiKey: secretRef.optional(),
    username: z.string().min(1).optional(),
    password: secretRef.optional(),
    /** auto: a data stream where the server supports them, else one index per day. */
    mode: z.enum(["auto", "data-stream", "dated"]).default("auto"),
    /** Name of the log data stream, or prefix of the dated log indices. */
    logIndex: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, "expected a lowercase index name")
      .default("vigil-logs"),
    alertIndex: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, "expected a lowercase index name")
      .default("vigil-alerts"),
    /** One bulk request holds at most this many documents and bytes. */
    maxDocs: z.number().int().min(1).max(50_000).default(1_000),
    maxBytes: z.number().int().min(1024).max(100_000_000).default(5_000_000),
    /** Items refused with 429 or 5xx are retried alone this many times before the batch waits. */
    itemRetries: z.number().int().min(0).max(20).default(3),
    timeout: duration.default(30_000),
    /** Attribute keys that may become mapped fields (field-budget.ts); the rest stay flattened. */
    fieldBudget: z
      .strictObject({
        perSource: z.number().int().min(0).default(100),
        perIndex: z.number().int().min(0).max(900).default(500),
      })
      .default({ perSource: 100, perIndex: 500 }),
  })
  .refine((es) => (es.username === undefined) === (es.password === undefined), {
    message: "give both username and password, or neither",
  })
  .refine((es) => !(es.apiKey && es.username), {
    message: "give apiKey or username/password, not both",
  })
  .refine(
    (es) =>
      !es.alertIndex.startsWith(`${es.logIndex}-`) && !es.logIndex.startsWith(`${es.alertIndex}-`),
    {
      message:
        "logIndex and alertIndex must not be prefixes of each other: their dated indices would overlap",
    },
  );

export const elasticsearchSinkSettings = baseSettings.extend({
  consumer: consumerSettings.default(
    consumerSettings.parse({
      groupId: "vigil-elasticsearch-sink",
      topics: [TOPICS.logsClean.name, TOPICS.alerts.name],
    }),
  ),
  /** Which of the consumed topics carry alerts (the rest carry log batches). */
  alertTopics: z.array(z.string()).default([TOPICS.alerts.name]),
  elasticsearch: elasticsearchSettings.default(elasticsearchSettings.parse({})),
});

export type ElasticsearchSettings = z.infer<typeof elasticsearchSettings>;
export type ElasticsearchSinkSettings = z.infer<typeof elasticsearchSinkSettings>;

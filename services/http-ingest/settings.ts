// Configuration of the HTTP ingest service, on top of the chassis's.
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { baseSettings, secretRef } from "../chassis/settings.js";

const ingest = z
  .strictObject({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(18087),
    /** "token": every request must carry the token; "none" only for trusted networks. */
    auth: z.enum(["token", "none"]).default("token"),
    token: secretRef.optional(),
    /** Largest request body, after gunzip. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(10 * 2 ** 20),
    /** Bytes being published at once; beyond this new requests get 429. */
    maxInFlightBytes: z
      .number()
      .int()
      .min(1)
      .default(64 * 2 ** 20),
    /** How long a request waits for Kafka's acknowledgement before answering 503. */
    publishTimeout: duration.default(10_000),
    maxSamplesPerRecord: z.number().int().min(1).default(1_000),
    metricsTopic: z.string().min(1).default(TOPICS.metricsRaw.name),
    logsTopic: z.string().min(1).default(TOPICS.logsRaw.name),
  })
  .refine((i) => i.auth === "none" || i.token !== undefined, {
    message: 'auth "token" needs token: { env: NAME } or { file: PATH }',
  });

export const ingestSettings = baseSettings.extend({ ingest });
export type IngestSettings = z.infer<typeof ingestSettings>;

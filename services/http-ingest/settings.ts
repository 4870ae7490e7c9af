// Configuration of the HTTP ingest service, on top of the chassis's.
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import {
  baseSettings,
  edgeBufferSettings,
  offLoopbackWithoutAuth,
  secretRef,
} from "../chassis/settings.js";

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
    /**
     * Request bodies being read, parsed and published at once; a request that would pass it gets
     * 429 before its body is read. Parsing holds ~10 bytes of memory per body byte (measured on
     * line protocol), so the default keeps ingest within a 512 MiB container.
     */
    maxInFlightBytes: z
      .number()
      .int()
      .min(1)
      .default(24 * 2 ** 20),
    /** How long a request waits for Kafka's acknowledgement before answering 503. */
    publishTimeout: duration.default(10_000),
    maxSamplesPerRecord: z.number().int().min(1).default(1_000),
    /** How OTLP resources become labels (Prometheus's `otlp:` settings, by the same names). */
    otlp: z
      .strictObject({
        /**
         * Resource attributes written as labels on every sample, or "all". service.name,
         * service.instance.id and host.name always become job, instance and host.
         */
        promoteResourceAttributes: z
          .union([z.array(z.string().min(1)), z.literal("all")])
          .default([
            "deployment.environment.name",
            "k8s.cluster.name",
            "k8s.namespace.name",
            "k8s.pod.name",
            "k8s.container.name",
            "k8s.node.name",
            "cloud.region",
            "cloud.availability_zone",
          ]),
        /** Label samples with otel_scope_name and otel_scope_version. */
        scopeLabels: z.boolean().default(true),
      })
      .prefault({}),
    /**
     * Keep what Kafka cannot take on disk until it can, answering 204 once it is there; off when
     * absent (a request then gets 503 while Kafka is away, and its client keeps and retries it).
     */
    edgeBuffer: edgeBufferSettings.optional(),
    metricsTopic: z.string().min(1).default(TOPICS.metricsRaw.name),
    logsTopic: z.string().min(1).default(TOPICS.logsRaw.name),
  })
  .refine((i) => i.auth === "none" || i.token !== undefined, {
    message: 'auth "token" needs token: { env: NAME } or { file: PATH }',
  })
  // "none" only where nobody else can connect: off loopback, anyone could write any series.
  .superRefine((i, ctx) =>
    offLoopbackWithoutAuth(ctx, ["token"], i.host, i.auth === "token", "ingest (auth: none)"),
  );

export const ingestSettings = baseSettings.extend({ ingest });
export type IngestSettings = z.infer<typeof ingestSettings>;

// What every periodic agent (host, GPU) is configured with: how often, as which host, with which
// extra labels, to which topic.
import { hostname } from "node:os";
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "./config.js";
import { edgeBufferSettings } from "./settings.js";

export const agentBase = {
  interval: duration.default(10_000),
  host: z.string().min(1).default(hostname()),
  /** Extra labels on every sample, e.g. { cluster: train-eu-1 }. */
  labels: z
    .record(
      z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, "expected a Prometheus label name"),
      z.string(),
    )
    .default({}),
  topic: z.string().min(1).default(TOPICS.metricsRaw.name),
  /** Keep what Kafka cannot take on disk until it can; off when absent. */
  edgeBuffer: edgeBufferSettings.optional(),
};

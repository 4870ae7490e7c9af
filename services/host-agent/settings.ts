// Configuration of the host metrics agent, on top of the chassis's.
import { hostname } from "node:os";
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { baseSettings } from "../chassis/settings.js";

export const hostAgentSettings = baseSettings.extend({
  agent: z
    .strictObject({
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
      procRoot: z.string().default("/proc"),
      sysRoot: z.string().default("/sys"),
    })
    .default({
      interval: 10_000,
      host: hostname(),
      labels: {},
      topic: TOPICS.metricsRaw.name,
      procRoot: "/proc",
      sysRoot: "/sys",
    }),
});

export type HostAgentSettings = z.infer<typeof hostAgentSettings>;

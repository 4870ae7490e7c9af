// Configuration of the GPU metrics agent, on top of the chassis's.
import { hostname } from "node:os";
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { baseSettings } from "../chassis/settings.js";

const agent = z.strictObject({
  interval: duration.default(10_000),
  host: z.string().min(1).default(hostname()),
  labels: z
    .record(
      z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, "expected a Prometheus label name"),
      z.string(),
    )
    .default({}),
  topic: z.string().min(1).default(TOPICS.metricsRaw.name),
  /** The nvidia-smi to run: a name looked up on PATH, or a path. */
  nvidiaSmi: z.string().min(1).default("nvidia-smi"),
  timeout: duration.default(5_000),
});

export const gpuAgentSettings = baseSettings.extend({ agent: agent.default(agent.parse({})) });
export type GpuAgentSettings = z.infer<typeof gpuAgentSettings>;

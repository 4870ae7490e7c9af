// Configuration of the GPU metrics agent, on top of the chassis's.
import { z } from "zod";
import { agentBase } from "../chassis/agent-settings.js";
import { duration } from "../chassis/config.js";
import { baseSettings } from "../chassis/settings.js";

const agent = z.strictObject({
  ...agentBase,
  /** The nvidia-smi to run: a name looked up on PATH, or a path. */
  nvidiaSmi: z.string().min(1).default("nvidia-smi"),
  timeout: duration.default(5_000),
});

export const gpuAgentSettings = baseSettings.extend({ agent: agent.default(agent.parse({})) });
export type GpuAgentSettings = z.infer<typeof gpuAgentSettings>;

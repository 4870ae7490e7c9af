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
  /**
   * Label each GPU with the workload of its processes (pod UID and container, Slurm job, systemd
   * unit, from /proc/<pid>/cgroup) and write each process's GPU memory as a series.
   */
  attribution: z.boolean().default(true),
  /** Where /proc is (the host's, mounted into the agent's container). */
  procRoot: z.string().min(1).default("/proc"),
});

export const gpuAgentSettings = baseSettings.extend({ agent: agent.default(agent.parse({})) });
export type GpuAgentSettings = z.infer<typeof gpuAgentSettings>;

// Configuration of the host metrics agent, on top of the chassis's.
import { z } from "zod";
import { agentBase } from "../chassis/agent-settings.js";
import { baseSettings } from "../chassis/settings.js";

const agent = z.strictObject({
  ...agentBase,
  procRoot: z.string().default("/proc"),
  sysRoot: z.string().default("/sys"),
});

export const hostAgentSettings = baseSettings.extend({ agent: agent.default(agent.parse({})) });
export type HostAgentSettings = z.infer<typeof hostAgentSettings>;

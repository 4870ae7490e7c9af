// Configuration of the log pipeline: raw log batches in, clean ones out.
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { baseSettings, consumerSettings } from "../chassis/settings.js";

export const logPipelineSettings = baseSettings.extend({
  consumer: consumerSettings.default(
    consumerSettings.parse({ groupId: "vigil-log-pipeline", topics: [TOPICS.logsRaw.name] }),
  ),
  output: z.string().min(1).default(TOPICS.logsClean.name),
});

export type LogPipelineSettings = z.infer<typeof logPipelineSettings>;

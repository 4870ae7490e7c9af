// The log pipeline: telemetry.logs.raw → telemetry.logs.clean, event by event (clean.ts). A batch
// keeps its key, so one source's lines stay in order; refused events go to the dead-letter topic
// with the field named, the rest go on.
import { decode, encode } from "../../schemas/codec.js";
import type { LogBatch, LogEvent } from "../../schemas/types.js";
import { loadConfig } from "../chassis/config.js";
import type { Rejection } from "../chassis/processing-loop.js";
import { reasonsText } from "../chassis/dead-letter.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { cleanEvent } from "./clean.js";
import { logPipelineSettings, type LogPipelineSettings } from "./settings.js";

export async function startLogPipeline(
  settings: LogPipelineSettings,
  now: () => number = Date.now,
): Promise<Service> {
  return startService<LogBatch>({
    name: settings.service ?? "log-pipeline",
    settings,
    now,
    consume: {
      settings: settings.consumer,
      decode: (_topic, value) => decode("log-batch", value),
      handler: async (records) => {
        const outputs = [];
        const rejected: Rejection<LogBatch>[] = [];
        for (const record of records) {
          const clean: LogEvent[] = [];
          const bad: { event: LogEvent; problem: string }[] = [];
          for (const event of record.decoded.events) {
            const result = cleanEvent(event, now());
            if ("event" in result) clean.push(result.event);
            else bad.push({ event, problem: result.problem });
          }
          if (clean.length > 0)
            outputs.push({
              topic: settings.output,
              key: record.key,
              value: encode("log-batch", { source: record.decoded.source, events: clean }),
            });
          if (bad.length > 0)
            rejected.push({
              record: {
                ...record,
                value: encode("log-batch", {
                  source: record.decoded.source,
                  events: bad.map((b) => b.event),
                }),
              },
              stage: "log-pipeline",
              code: "VGL_VALIDATE",
              message: reasonsText(
                bad.map((b) => b.problem),
                10,
              ),
            });
        }
        return { outputs, rejected };
      },
    },
  });
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(logPipelineSettings);
  await runMain(() => startLogPipeline(settings), settings.shutdown.deadline);
}

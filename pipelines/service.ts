// The service that hosts pipelines, all on one chassis (one /metrics, one /readyz, one graceful
// shutdown). Each pipeline runs as one stateful stage (consumer group vigil-pipeline-<name>), or
// two when it groups — re-keying its input through a repartition topic first. The work of one
// pipeline is in runner.ts.
import type { KafkaClient as Kafka } from "../services/chassis/kafka.js";
import { loadConfig } from "../services/chassis/config.js";
import { ensureInternalTopics } from "../services/chassis/internal-topics.js";
import { isMain, runMain, startService, type Service } from "../services/chassis/service.js";
import type { StatefulStage } from "../services/chassis/stateful-stage.js";
import { pipelineSettings, type PipelineSettings } from "./config.js";
import { pipelineStages, stagePlans } from "./runner.js";

export async function startPipelines(
  settings: PipelineSettings,
  now: () => number = Date.now,
  kafka?: Kafka,
): Promise<Service> {
  const stages: StatefulStage[] = [];
  const expected = settings.pipelines.reduce((n, p) => n + stagePlans(p).length, 0);
  const service = await startService({
    name: settings.service ?? "pipelines",
    settings,
    now,
    ...(kafka && { kafka }),
    // Ready once every stage has started and owns partitions — not while stages are still starting.
    notReady: () =>
      stages.length < expected
        ? `starting stages (${stages.length} of ${expected} running)`
        : stages.map((s) => s.notReady()).find((why) => why !== undefined),
  });
  const partitions = await ensureInternalTopics(
    service.kafka,
    settings.pipelines
      .filter((p) => stagePlans(p).length > 1)
      .map((p) => ({ name: p.repartition, partitionsOf: p.inputs, compacted: false })),
  );
  for (const pipeline of settings.pipelines)
    for (const stage of pipelineStages(
      pipeline,
      service,
      settings.topics.deadLetter,
      now,
      partitions.get(pipeline.repartition),
    )) {
      await stage.start();
      stages.push(stage);
    }
  const stop = service.stop;
  return {
    ...service,
    stop: async () => {
      await Promise.all(stages.map((s) => s.stop()));
      await stop();
    },
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(pipelineSettings);
  await runMain(() => startPipelines(settings), settings.shutdown.deadline);
}

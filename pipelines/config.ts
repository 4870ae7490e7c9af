// Pipelines declared in configuration (YAML): inputs, a chain of processors, an output.
//   pipelines:
//     - name: clean-metrics
//       inputs: [telemetry.metrics.raw]
//       output: telemetry.metrics.clean
//       processors:
//         - validate: { maxAge: 1h }
//         - relabel: { rules: [{ action: labeldrop, regex: pod_template_hash }] }
// Every processor's configuration is checked at start-up, errors naming the pipeline and step.
import { z } from "zod";
import { TOPICS } from "../schemas/topics.js";
import { duration } from "../services/chassis/config.js";
import { baseSettings, processing } from "../services/chassis/settings.js";
import { buildChain, ChainConfigError, stepSchema } from "./chain.js";
import { processorNamed } from "./registry.js";

export const pipelineSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "expected lowercase letters, digits and dashes"),
    inputs: z.array(z.string().min(1)).min(1).default([TOPICS.metricsRaw.name]),
    output: z.string().min(1).default(TOPICS.metricsClean.name),
    processors: z.array(stepSchema).default([]),
    /** Where samples that came after their window closed go. */
    late: z.string().min(1).default(TOPICS.metricsLate.name),
    /**
     * Key output records by these labels (one record per distinct value set) instead of the input
     * record's key: re-partitions a stream by group, e.g. before a cluster-wide aggregate.
     */
    keyBy: z.array(z.string()).optional(),
    /**
     * The label whose value every input record is keyed by, with Kafka's default partitioner —
     * as Vigil's ingest, agents and scraper key metric batches by `host`. A grouping operator
     * whose groups all fix that label (window-aggregate grouping by `host`, …) then finds each
     * group on one input partition already: no repartition hop. A sample whose label does not
     * match its record's key goes to the dead letters (VGL_KEY_MISMATCH), never into a window.
     */
    inputKeyedBy: z.string().min(1).optional(),
    /**
     * "input": outputs keep the input record's key. "series": outputs are keyed by their labels
     * (without the name), one record per label set — for aggregates: every window of a series has
     * the same key, so the series stays on one partition, in order, for the detector.
     */
    outputKey: z.enum(["input", "series"]).default("input"),
    /**
     * Keep operator state in a changelog (`vigil-pipeline-<name>-changelog`, compacted, created at
     * start), so restarts and rebalances change no result.
     */
    stateful: z.boolean().default(true),
    /**
     * exactly_once: each batch's outputs, state and offsets in one transaction. at_least_once:
     * sent, then committed — cheaper; a crash between the two may emit a batch's outputs twice.
     */
    processing: processing.default("exactly_once"),
    /**
     * Where a pipeline with a grouping operator (window-aggregate) re-keys its input by group
     * before the state, so one group's samples meet on one partition. Created at start if missing.
     */
    repartition: z.string().min(1).default(TOPICS.metricsRepartition.name),
    /** How often operators are given the time with no input (closing the windows of quiet sources). */
    tick: duration.default(1_000),
    /** How long the group waits for a member that stopped heartbeating (e.g. was killed). */
    sessionTimeout: duration.default(30_000),
    /** Batches of different partitions processed at once. */
    concurrency: z.number().int().min(1).max(64).default(4),
  })
  .superRefine((pipeline, ctx) => {
    try {
      buildChain(pipeline.processors);
    } catch (error) {
      if (!(error instanceof ChainConfigError)) throw error;
      for (const line of error.message.split("\n"))
        ctx.addIssue({ code: "custom", path: [], message: line });
    }
  });

export const pipelineSettings = baseSettings.extend({
  pipelines: z
    .array(pipelineSchema)
    .min(1)
    .superRefine((pipelines, ctx) => {
      // Two pipelines re-keying through one topic would read each other's groups.
      const seen = new Map<string, string>();
      pipelines.forEach((p, i) => {
        if (!p.processors.some((step) => processorNamed(step.name)?.partitionKey)) return;
        const other = seen.get(p.repartition);
        if (other)
          ctx.addIssue({
            code: "custom",
            path: [i, "repartition"],
            message: `topic ${p.repartition} is already the repartition topic of pipeline ${other}; give each grouping pipeline its own`,
          });
        seen.set(p.repartition, p.name);
      });
    }),
});

export type Pipeline = z.infer<typeof pipelineSchema>;
export type PipelineSettings = z.infer<typeof pipelineSettings>;

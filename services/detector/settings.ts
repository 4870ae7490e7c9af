// Configuration of the detector, on top of the chassis's. Rule files are read and checked here, at
// start-up: a bad rule stops the service with an error naming the file, the rule and the key.
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { baseSettings, processing } from "../chassis/settings.js";
import { loadRuleFiles, RuleError } from "./rules/load.js";
import type { Rule } from "./rules/schema.js";

export const BUILTIN_RULES = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../pipelines/rules/builtin.rules.yaml",
);

/** The AI-infrastructure pack: Xids, GPU health, stragglers, idle GPUs, training throughput. */
export const AI_RULES = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../pipelines/rules/ai.rules.yaml",
);

const ruleFiles = z
  .array(z.string().min(1))
  .min(1)
  .transform((paths, ctx): { paths: string[]; rules: Rule[] } => {
    try {
      return { paths, rules: loadRuleFiles(paths) };
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      for (const line of error.message.split("\n")) ctx.addIssue({ code: "custom", message: line });
      return z.NEVER;
    }
  });

export const detectorSettings = baseSettings.extend({
  detector: z
    .strictObject({
      /**
       * Consumer group vigil-detector-<name>, transactional ids vigil-detector-<name>-<partition>,
       * state in the compacted changelog vigil-detector-<name>-changelog.
       */
      name: z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]*$/)
        .default("main"),
      /** This instance's identity, in its logs. */
      instance: z
        .string()
        .regex(/^[A-Za-z0-9._-]+$/)
        .default(hostname().replace(/[^A-Za-z0-9._-]/g, "-")),
      inputs: z
        .array(z.string().min(1))
        .min(1)
        .default([TOPICS.metricsClean.name, TOPICS.metricsAggregated.name]),
      /** Log topics, read when a rule counts log events (`logs:`); keyed by host like the metrics. */
      logInputs: z.array(z.string().min(1)).default([TOPICS.logsClean.name]),
      // The pack is read when a configuration leaves rules out, not whenever this module loads.
      rules: ruleFiles.prefault([BUILTIN_RULES, AI_RULES]),
      output: z.string().min(1).default(TOPICS.alerts.name),
      /** Compacted: the latest event of every alert, for consumers that start late. */
      state: z.string().min(1).default(TOPICS.alertsState.name),
      /** The tracks' changelog; vigil-detector-<name>-changelog when not given. */
      changelog: z.string().min(1).optional(),
      /** A firing alert is sent again this often (processing time), marked as a re-send. */
      resendEvery: duration.default(300_000),
      /** How often the detector looks for silent series and re-sends due. */
      tick: duration.default(5_000),
      /** Rule × series tracks kept per input partition at most; beyond, new series are counted and skipped. */
      maxTracks: z.number().int().min(1).default(1_000_000),
      sessionTimeout: duration.default(30_000),
      /** exactly_once: alert events, tracks and offsets in one transaction per batch. */
      processing: processing.default("exactly_once"),
    })
    .prefault({}),
});

export type DetectorSettings = z.infer<typeof detectorSettings>;

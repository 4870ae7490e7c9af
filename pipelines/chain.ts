// A pipeline's processors, run in order over a batch. Configuration is validated once, with
// errors naming the step (`processors[1].relabel.rules.0.target_label: …`); every step reports
// samples in, out and rejected, and every deliberate drop by reason.
import { z } from "zod";
import type { MetricSample } from "../schemas/types.js";
import type { TaskStores } from "../services/chassis/state-store.js";
import type { Instance, ProcessorSpec, Rejected } from "./api.js";
import { PROCESSORS, processorNamed } from "./registry.js";

export interface StepConfig {
  name: string;
  config: unknown;
}

export interface Step extends Instance {
  name: string;
  spec: ProcessorSpec;
  config: unknown;
}

export interface ChainTelemetry {
  step(name: string, samplesIn: number, samplesOut: number, rejected: number): void;
  dropped(name: string, reason: string, n: number): void;
}

export interface ChainResult {
  samples: MetricSample[];
  rejected: (Rejected & { processor: string })[];
  late: MetricSample[];
}

/** `- relabel: { rules: … }` in YAML: one key, the processor's name, holding its configuration. */
export const stepSchema = z
  .record(z.string(), z.unknown())
  .refine((step) => Object.keys(step).length === 1, {
    message: "expected exactly one processor name as the key",
  })
  .transform((step, ctx): StepConfig => {
    const [name, config] = Object.entries(step)[0]!;
    if (!processorNamed(name)) {
      ctx.addIssue({
        code: "custom",
        message: `unknown processor "${name}"; known: ${PROCESSORS.map((p) => p.name).join(", ")}`,
      });
      return z.NEVER;
    }
    return { name, config: config ?? {} };
  });

export class ChainConfigError extends Error {
  override name = "ChainConfigError";
}

/**
 * Instances of the steps. An operator's state is the store named by its position in `stores` (as
 * restored from the changelog), or a fresh in-memory one without `stores`. `first` is the position
 * of steps[0] in the whole chain, so a chain split over two stages keeps its stores' names.
 */
export function buildChain(
  steps: StepConfig[],
  where = "processors",
  stores?: TaskStores,
  first = 0,
): Step[] {
  return steps.map(({ name, config }, at) => {
    const i = first + at;
    const spec = processorNamed(name);
    if (!spec) throw new ChainConfigError(`${where}[${i}]: unknown processor "${name}"`);
    const parsed = spec.config.safeParse(config);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => {
        const keys = "keys" in issue && Array.isArray(issue.keys) ? issue.keys.map(String) : [];
        const path = [...issue.path.map(String), ...keys].join(".");
        return `${where}[${i}].${name}${path ? `.${path}` : ""}: ${keys.length > 0 ? "unknown key" : issue.message}`;
      });
      throw new ChainConfigError(issues.join("\n"));
    }
    const store = spec.state && stores?.store(String(i), spec.state);
    return { name, spec, config: parsed.data, ...spec.create(parsed.data, store) };
  });
}

export function runChain(
  steps: Step[],
  samples: MetricSample[],
  now: () => number,
  telemetry?: ChainTelemetry,
  caughtUp: () => boolean = () => true,
): ChainResult {
  let current = samples;
  const rejected: ChainResult["rejected"] = [];
  const late: MetricSample[] = [];
  for (const step of steps) {
    const result = step.process(current, {
      now,
      caughtUp,
      count: (reason, n = 1) => telemetry?.dropped(step.name, reason, n),
    });
    for (const r of result.rejected ?? []) rejected.push({ ...r, processor: step.name });
    late.push(...(result.late ?? []));
    telemetry?.step(step.name, current.length, result.samples.length, result.rejected?.length ?? 0);
    current = result.samples;
  }
  return { samples: current, rejected, late };
}

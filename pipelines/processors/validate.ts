// validate: rejects samples that downstream stages cannot trust — an invalid metric or label
// name, a non-finite value, a timestamp too far in the past or the future — with the reason.
import { z } from "zod";
import { duration } from "../../services/chassis/config.js";
import { LABEL_NAME, METRIC_NAME } from "../../schemas/names.js";
import { defineFunction, type Rejected } from "../api.js";

export const validate = defineFunction({
  name: "validate",
  description:
    "Rejects samples with invalid names, non-finite values or timestamps outside the allowed skew.",
  config: z.strictObject({
    /** How old a sample may be. */
    maxAge: duration.default(3_600_000),
    /** How far ahead of our clock a sample may be. */
    maxFuture: duration.default(300_000),
    /** Accept NaN and ±Inf (Prometheus uses NaN as a marker). */
    allowNonFinite: z.boolean().default(false),
  }),
  process(samples, config, context) {
    const now = context.now();
    const kept = [];
    const rejected: Rejected[] = [];
    const reject = (sample: (typeof samples)[number], reason: string) =>
      rejected.push({ sample, code: "VGL_VALIDATE", reason });
    for (const sample of samples) {
      const badLabel = Object.keys(sample.labels).find((name) => !LABEL_NAME.test(name));
      if (!METRIC_NAME.test(sample.name))
        reject(sample, `name: "${sample.name}" is not a valid metric name`);
      else if (badLabel !== undefined) reject(sample, `labels.${badLabel}: not a valid label name`);
      else if (!config.allowNonFinite && !Number.isFinite(sample.value))
        reject(sample, `value: ${sample.value} is not finite`);
      else if (sample.timestamp < now - config.maxAge)
        reject(
          sample,
          `timestamp: ${new Date(sample.timestamp).toISOString()} is older than ${config.maxAge / 1000}s`,
        );
      else if (sample.timestamp > now + config.maxFuture)
        reject(
          sample,
          `timestamp: ${new Date(sample.timestamp).toISOString()} is more than ${config.maxFuture / 1000}s ahead`,
        );
      else kept.push(sample);
    }
    return { samples: kept, rejected };
  },
});

// normalize: one naming scheme and base units. Metric and label names become valid Prometheus
// names (invalid characters → "_", optionally lower case), and samples in a configured unit are
// converted, their unit and name suffix rewritten (e.g. milliseconds → seconds, _ms → _seconds).
import { z } from "zod";
import { labelNameOf, metricNameOf } from "../../schemas/names.js";
import { defineFunction } from "../api.js";

const conversion = z.strictObject({
  from: z.string().min(1),
  to: z.string().min(1),
  factor: z
    .number()
    .refine((f) => f !== 0 && Number.isFinite(f), "expected a finite, non-zero factor"),
  /** Name suffix to replace, e.g. "_ms" → "_seconds". */
  suffix: z.tuple([z.string(), z.string()]).optional(),
});

const DEFAULT_UNITS = [
  {
    from: "milliseconds",
    to: "seconds",
    factor: 0.001,
    suffix: ["_ms", "_seconds"] as [string, string],
  },
  {
    from: "microseconds",
    to: "seconds",
    factor: 1e-6,
    suffix: ["_us", "_seconds"] as [string, string],
  },
  { from: "kilobytes", to: "bytes", factor: 1024, suffix: ["_kb", "_bytes"] as [string, string] },
  {
    from: "megabytes",
    to: "bytes",
    factor: 2 ** 20,
    suffix: ["_mb", "_bytes"] as [string, string],
  },
];

export const normalize = defineFunction({
  name: "normalize",
  description:
    "Makes metric and label names valid (and optionally lower case) and converts units to base units.",
  config: z.strictObject({
    lowercase: z.boolean().default(false),
    units: z.array(conversion).default(DEFAULT_UNITS),
  }),
  process(samples, config) {
    return {
      samples: samples.map((sample) => {
        let name = metricNameOf(sample.name, config.lowercase);
        let { value, unit } = sample;
        const rule = config.units.find((u) => u.from === unit);
        if (rule) {
          value *= rule.factor;
          unit = rule.to;
          if (rule.suffix && name.endsWith(rule.suffix[0]))
            name = name.slice(0, -rule.suffix[0].length) + rule.suffix[1];
        }
        const labels = Object.fromEntries(
          Object.entries(sample.labels).map(([k, v]) => [labelNameOf(k, config.lowercase), v]),
        );
        return { ...sample, name, value, unit, labels };
      }),
    };
  },
});

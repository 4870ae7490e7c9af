// normalize: one naming scheme and base units. Metric and label names become valid Prometheus
// names (invalid characters → "_", optionally lower case), and samples in a configured unit are
// converted, their unit and name suffix rewritten (e.g. milliseconds → seconds, _ms → _seconds).
import { z } from "zod";
import { LABEL_NAME, labelNameOf, METRIC_NAME, metricNameOf } from "../../schemas/names.js";
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
    const { lowercase, units } = config;
    return {
      // A sample already named validly, in no unit to convert, passes as it is: no copy.
      samples: samples.map((sample) => {
        let name = validName(sample.name, lowercase);
        let { value, unit } = sample;
        const rule = units.length > 0 ? units.find((u) => u.from === unit) : undefined;
        if (rule) {
          value *= rule.factor;
          unit = rule.to;
          if (rule.suffix && name.endsWith(rule.suffix[0]))
            name = name.slice(0, -rule.suffix[0].length) + rule.suffix[1];
        }
        const labels = labelsNamed(sample.labels, lowercase);
        if (name === sample.name && !rule && labels === sample.labels) return sample;
        return { ...sample, name, value, unit, labels };
      }),
    };
  },
});

const validName = (name: string, lowercase: boolean) =>
  METRIC_NAME.test(name) && (!lowercase || name === name.toLowerCase())
    ? name
    : metricNameOf(name, lowercase);

/** `labels` itself when every name is valid already, else a copy with valid names. */
function labelsNamed(labels: Record<string, string>, lowercase: boolean) {
  let valid = true;
  for (const key in labels)
    if (!LABEL_NAME.test(key) || (lowercase && key !== key.toLowerCase())) {
      valid = false;
      break;
    }
  if (valid) return labels;
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [labelNameOf(k, lowercase), v]));
}

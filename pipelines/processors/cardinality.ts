// cardinality: a budget of series per metric. The first `maxSeriesPerMetric` series of a metric
// pass; samples of any further series are folded into one overflow series per metric (only the
// labels in `keepLabels`, plus vigil_overflow="true") and counted, so a label explosion can
// neither blow up memory here nor in the stores. At most `maxMetrics` metrics are tracked.
import { z } from "zod";
import { defineOperator, seriesKey } from "../api.js";

const config = z.strictObject({
  maxSeriesPerMetric: z.number().int().min(1).default(10_000),
  maxMetrics: z.number().int().min(1).default(10_000),
  keepLabels: z.array(z.string()).default(["host"]),
});

export const cardinality = defineOperator<typeof config, Set<string>>({
  name: "cardinality",
  description:
    "Caps series per metric, folding the excess into an overflow series that is counted.",
  config,
  encode: (series) => [...series],
  decode: (json) => new Set(json as string[]),
  create: (cfg, state) => (samples, context) => ({
    samples: samples.map((sample) => {
      let known = state.get(sample.name);
      if (!known && state.size < cfg.maxMetrics) state.set(sample.name, (known = new Set()));
      const key = seriesKey(sample);
      if (known && (known.has(key) || known.size < cfg.maxSeriesPerMetric)) {
        if (!known.has(key)) state.set(sample.name, known.add(key)); // changed: written at commit
        return sample;
      }
      context.count("cardinality_overflow");
      const labels: Record<string, string> = { vigil_overflow: "true" };
      for (const name of cfg.keepLabels)
        if (sample.labels[name] !== undefined) labels[name] = sample.labels[name];
      return { ...sample, labels };
    }),
  }),
});

// cardinality: a budget of series per metric. The first `maxSeriesPerMetric` series of a metric
// pass; samples of any further series are folded into one overflow series per metric (only the
// labels in `keepLabels`, plus vigil_overflow="true") and counted, so a label explosion can
// neither blow up memory here nor in the stores. At most `maxMetrics` metrics are tracked.
import { z } from "zod";
import { defineOperator, seriesKey } from "../api.js";

export const cardinality = defineOperator({
  name: "cardinality",
  description:
    "Caps series per metric, folding the excess into an overflow series that is counted.",
  config: z.strictObject({
    maxSeriesPerMetric: z.number().int().min(1).default(10_000),
    maxMetrics: z.number().int().min(1).default(10_000),
    keepLabels: z.array(z.string()).default(["host"]),
  }),
  create: (config, state) => (samples, context) => ({
    samples: samples.map((sample) => {
      let known = state.get(sample.name) as Set<string> | undefined;
      if (!known && state.size < config.maxMetrics) state.set(sample.name, (known = new Set()));
      const key = seriesKey(sample);
      if (known && (known.has(key) || known.size < config.maxSeriesPerMetric)) {
        known.add(key);
        return sample;
      }
      context.count("cardinality_overflow");
      const labels: Record<string, string> = { vigil_overflow: "true" };
      for (const name of config.keepLabels)
        if (sample.labels[name] !== undefined) labels[name] = sample.labels[name];
      return { ...sample, labels };
    }),
  }),
});

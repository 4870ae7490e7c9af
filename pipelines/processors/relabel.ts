// relabel: Prometheus relabelling (metric_relabel_configs) with Prometheus 3's semantics: the
// actions replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep,
// lowercase and uppercase; fully anchored, dot-all regexes (RE2); source labels joined by
// `separator`; `$1`, `${1}` and `${name}` in replacements and target labels; UTF-8 label names;
// the metric name as `__name__`. Rules run in order; a sample dropped by keep/drop is counted.
import { z } from "zod";
import { relabelLabels, relabelRule } from "../../services/chassis/relabel.js";
import { defineFunction } from "../api.js";

export { relabelLabels };

export const relabel = defineFunction({
  name: "relabel",
  description:
    "Prometheus relabelling: replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase.",
  config: z.strictObject({ rules: z.array(relabelRule).min(1) }),
  process(samples, config, context) {
    const kept = [];
    for (const sample of samples) {
      const result = relabelLabels(config.rules, { ...sample.labels, __name__: sample.name });
      if (!result) {
        context.count("relabel_dropped");
        continue;
      }
      const { __name__: name, ...rest } = result;
      if (!name) {
        context.count("relabel_empty_name");
        continue;
      }
      // Labels starting with "__" are internal to relabelling and never stored.
      const labels = Object.fromEntries(Object.entries(rest).filter(([k]) => !k.startsWith("__")));
      kept.push({ ...sample, name, labels });
    }
    return { samples: kept };
  },
});

// counter-to-rate: per-second rates from counters, per series. A counter that goes down was
// reset, so its increase since then is its current value (Prometheus's rate() reading). The
// first sample of a series only primes it. Series unseen for `forgetAfter` are forgotten, which
// bounds the state. Other samples pass through.
import { z } from "zod";
import { duration } from "../../services/chassis/config.js";
import { defineOperator, seriesKey } from "../api.js";
import type { MetricSample } from "../../schemas/types.js";

interface Last {
  value: number;
  timestamp: number;
}

export const counterToRate = defineOperator({
  name: "counter-to-rate",
  description: "Turns counter samples into per-second rate samples per series, handling resets.",
  config: z.strictObject({
    /** Keep the counter samples themselves as well as the rates. */
    keepCounters: z.boolean().default(true),
    forgetAfter: duration.default(3_600_000),
  }),
  create: (config, state) => (samples, context) => {
    const out: MetricSample[] = [];
    for (const sample of samples) {
      if (sample.type !== "counter") {
        out.push(sample);
        continue;
      }
      if (config.keepCounters) out.push(sample);
      const key = seriesKey(sample);
      const last = state.get(key) as Last | undefined;
      if (last && sample.timestamp <= last.timestamp) {
        context.count("counter_out_of_order");
        continue;
      }
      state.set(key, { value: sample.value, timestamp: sample.timestamp });
      if (!last) continue;
      const increase = sample.value >= last.value ? sample.value - last.value : sample.value;
      const base = sample.name.endsWith("_total")
        ? sample.name.slice(0, -"_total".length)
        : sample.name;
      out.push({
        ...sample,
        name: `${base}_per_second`,
        value: increase / ((sample.timestamp - last.timestamp) / 1000),
        type: "gauge",
        startTimestamp: null,
      });
    }
    const horizon = context.now() - config.forgetAfter;
    for (const [key, last] of state.entries())
      if ((last as Last).timestamp < horizon) state.delete(key);
    return { samples: out };
  },
});

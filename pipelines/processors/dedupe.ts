// dedupe: drops a sample whose series and timestamp were already seen within `window` (a
// producer's retried send, two scrapers of one target). Remembered keys older than the window,
// in event time, are forgotten, which bounds the state.
import { z } from "zod";
import { duration } from "../../services/chassis/config.js";
import { defineOperator, seriesKey } from "../api.js";

export const dedupe = defineOperator({
  name: "dedupe",
  description: "Drops samples already seen (same series and timestamp) within a window.",
  config: z.strictObject({ window: duration.default(300_000) }),
  create: (config, state) => {
    let newest = 0;
    return (samples, context) => {
      const kept = [];
      for (const sample of samples) {
        const key = `${seriesKey(sample)}@${sample.timestamp}`;
        if (state.get(key) !== undefined) {
          context.count("duplicate");
          continue;
        }
        state.set(key, sample.timestamp);
        newest = Math.max(newest, sample.timestamp);
        kept.push(sample);
      }
      for (const [key, at] of state.entries())
        if ((at as number) < newest - config.window) state.delete(key);
      return { samples: kept };
    };
  },
});

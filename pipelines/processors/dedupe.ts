// dedupe: drops a sample whose series and timestamp were already seen within `window` (a
// producer's retried send, two scrapers of one target). Remembered keys older than the window,
// in event time, are forgotten, which bounds the state.
import { z } from "zod";
import { duration } from "../../services/chassis/config.js";
import { defineOperator, seriesKey } from "../api.js";

const NEWEST = "~newest";
const config = z.strictObject({ window: duration.default(300_000) });

export const dedupe = defineOperator<typeof config, number>({
  name: "dedupe",
  description: "Drops samples already seen (same series and timestamp) within a window.",
  config,
  create: (cfg, state) => (samples, context) => {
    let newest = state.get(NEWEST) ?? 0;
    const kept = [];
    for (const sample of samples) {
      const key = `${seriesKey(sample)}@${sample.timestamp}${sample.nanos ? `.${sample.nanos}` : ""}`;
      if (state.get(key) !== undefined) {
        context.count("duplicate");
        continue;
      }
      state.set(key, sample.timestamp);
      newest = Math.max(newest, sample.timestamp);
      kept.push(sample);
    }
    state.set(NEWEST, newest);
    for (const [key, at] of state.entries())
      if (key !== NEWEST && at < newest - cfg.window) state.delete(key);
    return { samples: kept };
  },
});

// Robust median/MAD: the last `window` values; the score is the modified z-score
// 0.6745 · (x − median) / MAD (Iglewicz and Hoaglin), which outliers in the history barely move.
import { z } from "zod";
import { defineDetector } from "./api.js";

interface State {
  values: number[];
}

const median = (sorted: number[]) => {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const mad = defineDetector({
  name: "mad",
  description: "modified z-score against the median and median absolute deviation of a window",
  config: z.strictObject({ window: z.number().int().min(5).max(10_000).default(60) }),
  init: (): State => ({ values: [] }),
  observe(state: State, value, _timestamp, { window }, warmup) {
    const ready = state.values.length >= Math.max(warmup, 3);
    let expected = value;
    let score = 0;
    if (state.values.length > 0) {
      const sorted = [...state.values].sort((a, b) => a - b);
      expected = median(sorted);
      const spread = median(sorted.map((v) => Math.abs(v - expected)).sort((a, b) => a - b));
      const deviation = value - expected;
      score =
        spread > 0
          ? (0.6745 * deviation) / spread
          : deviation === 0
            ? 0
            : Infinity * Math.sign(deviation);
    }
    state.values.push(value);
    if (state.values.length > window) state.values.splice(0, state.values.length - window);
    return { ready, expected, score };
  },
});

// EWMA: exponentially weighted mean and variance (West's incremental form); the score is the
// z-score of the sample against them. Reacts to level shifts and spikes; forgets at rate alpha.
import { z } from "zod";
import { defineDetector } from "./api.js";

interface State {
  n: number;
  mean: number;
  variance: number;
}

export const ewma = defineDetector({
  name: "ewma",
  description: "z-score against an exponentially weighted mean and variance",
  config: z.strictObject({ alpha: z.number().gt(0).lt(1).default(0.1) }),
  init: (): State => ({ n: 0, mean: 0, variance: 0 }),
  observe(state: State, value, _timestamp, { alpha }, warmup) {
    const expected = state.mean;
    const deviation = value - expected;
    const sd = Math.sqrt(state.variance);
    const score =
      state.n === 0
        ? 0
        : sd > 0
          ? deviation / sd
          : deviation === 0
            ? 0
            : Infinity * Math.sign(deviation);
    const ready = state.n >= warmup;
    if (state.n === 0) state.mean = value;
    else {
      state.mean += alpha * deviation;
      state.variance = (1 - alpha) * (state.variance + alpha * deviation * deviation);
    }
    state.n++;
    return { ready, expected, score };
  },
});

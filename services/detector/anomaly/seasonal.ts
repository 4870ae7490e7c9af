// Seasonal baseline: the period (a day, a week) is cut into buckets (e.g. 5m); each bucket keeps
// an exponentially weighted mean and variance of the values seen at that time of the period in
// past periods — "same time last period", smoothed over several periods. The score is the z-score
// against the sample's bucket. Warm-up counts samples in that bucket, so a bucket only judges once
// it has seen enough of its own history.
import { z } from "zod";
import { duration } from "../../chassis/config.js";
import { defineDetector } from "./api.js";

interface State {
  /** bucket index → [samples seen, mean, variance] */
  buckets: Record<string, [number, number, number]>;
}

export const seasonal = defineDetector({
  name: "seasonal",
  description: "z-score against the same time of the previous periods (per-bucket EWMA)",
  config: z
    .strictObject({
      period: duration.default(86_400_000),
      bucket: duration.default(300_000),
      alpha: z.number().gt(0).lt(1).default(0.3),
    })
    .refine((c) => c.bucket > 0 && c.period % c.bucket === 0 && c.period / c.bucket <= 10_080, {
      message: "period must be a whole number of buckets, at most 10080 of them",
    }),
  init: (): State => ({ buckets: {} }),
  observe(state: State, value, timestamp, { period, bucket, alpha }, warmup) {
    const index = String(Math.floor((((timestamp % period) + period) % period) / bucket));
    const slot = state.buckets[index];
    if (!slot) {
      state.buckets[index] = [1, value, 0];
      return { ready: warmup <= 0, expected: value, score: 0 };
    }
    const [n, mean, variance] = slot;
    const deviation = value - mean;
    const sd = Math.sqrt(variance);
    const score = sd > 0 ? deviation / sd : deviation === 0 ? 0 : Infinity * Math.sign(deviation);
    state.buckets[index] = [
      n + 1,
      mean + alpha * deviation,
      (1 - alpha) * (variance + alpha * deviation * deviation),
    ];
    return { ready: n >= warmup, expected: mean, score };
  },
});

// A streaming anomaly detector: per series, a small JSON state that it updates with each sample and
// from which it says how unusual the sample was. State is plain JSON so it goes to the changelog
// with the rest of the detector's state, and survives restarts and rebalances.
import type { z } from "zod";

export interface Observation {
  /** Enough history seen: before this, no sample is anomalous. */
  ready: boolean;
  /** What the detector expected. */
  expected: number;
  /** How unusual the sample is, in the detector's unit of spread (a z-score); signed. */
  score: number;
}

export interface DetectorSpec<C extends z.ZodType = z.ZodType, S = unknown> {
  name: string;
  description: string;
  /** The detector's own options (besides threshold, warm-up, floor and direction, common to all). */
  config: C;
  init(config: z.output<C>): S;
  /** Scores `value` against the history in `state`, then learns it. */
  observe(
    state: S,
    value: number,
    timestamp: number,
    config: z.output<C>,
    warmup: number,
  ): Observation;
}

export function defineDetector<C extends z.ZodType, S>(
  spec: DetectorSpec<C, S>,
): DetectorSpec<C, S> {
  return spec;
}

// Sliding windows of one series' samples and what a rule can ask of them: avg, min, max, sum,
// count, last, delta (last − first), increase and rate (of a counter, across resets) and
// quantiles. A window holds the samples of the last `over` milliseconds of event time, at most
// MAX_POINTS of them (older ones go first).
import type { Reducer } from "./rules/schema.js";

/** [event time, value] pairs, oldest first. */
export type Points = [number, number][];

export const MAX_POINTS = 10_000;

/** Adds a sample and drops what fell out of the window; returns how many were dropped for size. */
export function slide(points: Points, at: number, value: number, over: number): number {
  points.push([at, value]);
  return prune(points, at, over);
}

/** Drops the points that are out of the window ending at `at`, and the oldest beyond MAX_POINTS. */
export function prune(points: Points, at: number, over: number): number {
  let cut = 0;
  while (cut < points.length && points[cut]![0] <= at - over) cut++;
  const overflow = Math.max(0, points.length - cut - MAX_POINTS);
  points.splice(0, cut + overflow);
  return overflow;
}

/** The increase of a counter over the points, counting a drop as a reset to zero. */
export function increase(points: Points): number {
  let total = 0;
  for (let i = 1; i < points.length; i++) {
    const before = points[i - 1]![1];
    const after = points[i]![1];
    total += after >= before ? after - before : after;
  }
  return total;
}

export function reduce(fn: Reducer, points: Points): number {
  const values = points.map((p) => p[1]);
  const n = values.length;
  switch (fn) {
    case "avg":
      return values.reduce((a, b) => a + b, 0) / n;
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "min":
      return Math.min(...values);
    case "max":
      return Math.max(...values);
    case "count":
      return n;
    case "last":
      return values[n - 1]!;
    case "delta":
      return values[n - 1]! - values[0]!;
    case "increase":
      return increase(points);
    case "rate": {
      const seconds = (points[n - 1]![0] - points[0]![0]) / 1000;
      return seconds > 0 ? increase(points) / seconds : 0;
    }
    default:
      return quantile(values, Number(fn.slice(1)) / 100);
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

// Per-second rates from monotonic counters, the way Prometheus's rate() reads them: a counter
// that goes down was reset (the device or interface came back, the host rebooted), so everything
// it counted since started from zero — except a drop from near the top of 32 bits, which is a
// 32-bit counter wrapping around.
const WRAP_32 = 2 ** 32;

export function increase(previous: number, current: number): number {
  if (current >= previous) return current - previous;
  if (previous >= WRAP_32 * 0.75 && previous < WRAP_32 && current < WRAP_32 * 0.25)
    return WRAP_32 - previous + current;
  return current;
}

/** Keeps the last value of each counter and turns the next one into a rate. */
export class RateTracker {
  private last = new Map<string, { value: number; at: number }>();

  /** The per-second rate since the previous call for `key`, or undefined on the first. */
  rate(key: string, value: number, at: number): number | undefined {
    const previous = this.last.get(key);
    this.last.set(key, { value, at });
    if (!previous || at <= previous.at) return undefined;
    return increase(previous.value, value) / ((at - previous.at) / 1000);
  }

  /** Forgets counters not seen in the latest collection (a removed disk or interface). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.last.keys()) if (!keys.has(key)) this.last.delete(key);
  }
}

// What the windowed operators (window-aggregate, peer-group) share: each group's event-time clock
// and the rule that closes windows — by the groups a batch touched, up to each one's watermark
// (newest event time − allowedLateness), or, once the input is read to its end and has been quiet
// for idleTimeout of processing time, every open window. Kept in the operator's store: one clock
// per group (`~clock|<group>`) and the processing time of the last input (`~meta`).
import type { Context, StateStore } from "./api.js";

export interface GroupClock {
  maxEventTime: number;
  /** End of the latest window closed: a window that ends there or before can never reopen. */
  closedUpTo: number;
}

interface Meta {
  lastInputAt: number;
}

export const CLOCK = "~clock|";
const META = "~meta";

/**
 * After a batch: closes what it lets close (`close(group, upTo, clock)` closes the group's windows
 * ending at or before upTo, moving clock.closedUpTo) and writes the clocks that changed.
 */
export function closeGroups<C extends GroupClock>(options: {
  state: StateStore<unknown>;
  context: Context;
  /** The clocks of the groups this batch touched. */
  touched: Map<string, C>;
  /** Every group with an open window (closed all at once when idle). */
  open: () => Iterable<string>;
  clockOf: (group: string) => C;
  /** The batch had input (samples taken or late). */
  hadInput: boolean;
  allowedLateness: number;
  idleTimeout: number;
  close: (group: string, upTo: number, clock: C) => void;
}): void {
  const { state, context, touched } = options;
  const now = context.now();
  const meta = (state.get(META) as Meta | undefined) ?? { lastInputAt: 0 };
  if (options.hadInput) state.set(META, { lastInputAt: now });
  // Quiet long enough, and not because a backlog waits: every open window closes.
  const idle =
    options.idleTimeout > 0 &&
    touched.size === 0 &&
    now - meta.lastInputAt >= options.idleTimeout &&
    context.caughtUp();
  for (const group of idle ? [...options.open()] : [...touched.keys()]) {
    const clock = touched.get(group) ?? options.clockOf(group);
    const before = clock.closedUpTo;
    options.close(group, idle ? Infinity : clock.maxEventTime - options.allowedLateness, clock);
    if (touched.has(group) || clock.closedUpTo !== before) state.set(CLOCK + group, clock);
  }
}

// What a log rule keeps and asks of its events: whether an event is selected, the group it counts
// in (the rule's `by` fields, which become the alert's labels), and its events counted per second
// of event time, so a flood of lines costs one point per second, not one per line.
import type { LogEvent, LogSeverity } from "../../schemas/types.js";
import type { Points } from "./reduce.js";
import { LOG_SEVERITIES, type Rule } from "./rules/schema.js";

type LogSelection = NonNullable<Rule["logs"]>;

const RANK: Record<LogSeverity, number> = {
  unknown: -1,
  ...(Object.fromEntries(LOG_SEVERITIES.map((s, i) => [s, i])) as Record<
    (typeof LOG_SEVERITIES)[number],
    number
  >),
};

export function selects(logs: LogSelection, event: LogEvent): boolean {
  const { match } = logs;
  if (match.service && !match.service.test(event.service)) return false;
  if (match.severity && RANK[event.severity] < RANK[match.severity]) return false;
  for (const [name, re] of Object.entries(match.attributes)) {
    const value = event.attributes[name];
    if (value === undefined || !re.test(value)) return false;
  }
  return !match.message || match.message.test(event.message);
}

/** The group's labels: each `by` name that the event has (fields first, then attributes). */
export function groupOf(logs: LogSelection, event: LogEvent): Record<string, string> {
  const group: Record<string, string> = {};
  for (const name of logs.by) {
    const value =
      name === "host" || name === "service" || name === "severity"
        ? event[name]
        : event.attributes[name];
    if (value !== undefined && value !== "") group[name] = value;
  }
  return group;
}

const SECOND = 1_000;

/** Counts one event at `at` (per-second buckets, oldest first); drops buckets before `keepFrom`. */
export function countAt(points: Points, at: number, keepFrom: number): void {
  const bucket = Math.floor(at / SECOND) * SECOND;
  let i = points.length;
  while (i > 0 && points[i - 1]![0] > bucket) i--;
  if (i > 0 && points[i - 1]![0] === bucket) points[i - 1]![1] += 1;
  else points.splice(i, 0, [bucket, 1]);
  let cut = 0;
  while (cut < points.length && points[cut]![0] < keepFrom) cut++;
  if (cut > 0) points.splice(0, cut);
}

/** Events in (from, to]. */
export function countIn(points: Points, from: number, to: number): number {
  let n = 0;
  for (const [t, c] of points) if (t > from - SECOND && t <= to) n += c;
  return n;
}

/** The rule's measure at `at`: events over the window, or (spike) that over the window before. */
export function measure(logs: LogSelection, points: Points, at: number): number | undefined {
  const now = countIn(points, at - logs.over, at);
  if (logs.measure === "count") return now;
  const before = countIn(points, at - 2 * logs.over, at - logs.over);
  if (now < logs.minCount && before < logs.minCount) return undefined;
  return now / Math.max(before, 1);
}

/** How far back a log rule's points are kept. */
export const keptFor = (logs: LogSelection) => (logs.measure === "spike" ? 2 : 1) * logs.over;

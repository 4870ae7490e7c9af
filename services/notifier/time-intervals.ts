// Time intervals, as in Alertmanager: weekdays ("monday", "monday:friday") and times of day
// ("09:00"–"17:00") in a time zone. A route muted in an interval sends nothing while it lasts;
// a route with active intervals sends only inside them.
import type { z } from "zod";
import type { timeIntervalSchema } from "./settings.js";

type TimeInterval = z.infer<typeof timeIntervalSchema>;

const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

function localTime(at: number, zone: string): { day: number; minutes: number } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    weekday: "long",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(at));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return {
    day: DAYS.indexOf(get("weekday").toLowerCase()),
    minutes: Number(get("hour")) * 60 + Number(get("minute")),
  };
}

function inDays(day: number, ranges: string[]): boolean {
  return ranges.some((range) => {
    const [from, to = from] = range.toLowerCase().split(":");
    const a = DAYS.indexOf(from!);
    const b = DAYS.indexOf(to!);
    return a <= b ? day >= a && day <= b : day >= a || day <= b;
  });
}

const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3));

export function inInterval(interval: TimeInterval, at: number): boolean {
  return interval.time_intervals.some((spec) => {
    const { day, minutes } = localTime(at, spec.location);
    if (spec.weekdays && !inDays(day, spec.weekdays)) return false;
    if (
      spec.times &&
      !spec.times.some((t) => minutes >= minutesOf(t.start_time) && minutes < minutesOf(t.end_time))
    )
      return false;
    return true;
  });
}

/** Whether a route with these mute/active intervals may send now. */
export function routeOpen(
  mute: string[],
  active: string[],
  intervals: ReadonlyMap<string, TimeInterval>,
  at: number,
): boolean {
  if (mute.some((name) => inInterval(intervals.get(name)!, at))) return false;
  return active.length === 0 || active.some((name) => inInterval(intervals.get(name)!, at));
}

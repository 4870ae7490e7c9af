// Time intervals, as in Alertmanager: weekdays ("monday:friday"), times of day ("09:00"–"17:00"),
// days of the month (1…31, or counted from the end: -1 is the last day), months ("may",
// "1:3") and years, in a time zone. A route muted in an interval sends nothing while it lasts; a
// route with active intervals sends only inside them. An interval holds when every field it gives
// holds.
import type { z } from "zod";
import type { timeIntervalSchema } from "./settings.js";

type TimeInterval = z.infer<typeof timeIntervalSchema>;

const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

interface Local {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minutes: number;
  daysInMonth: number;
}

function localTime(at: number, zone: string): Local {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone === "Local" ? undefined : zone,
    weekday: "long",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(at));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const year = Number(get("year"));
  const month = Number(get("month"));
  return {
    year,
    month,
    day: Number(get("day")),
    weekday: DAYS.indexOf(get("weekday").toLowerCase()),
    minutes: Number(get("hour")) * 60 + Number(get("minute")),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

/** Whether `value` is in one of the ranges; `read` turns a range end into a number. */
function inRanges(value: number, ranges: string[], read: (end: string) => number): boolean {
  return ranges.some((range) => {
    const [from, to = from] = range.toLowerCase().split(/:(?=-?\w)/);
    const a = read(from!);
    const b = read(to!);
    return a <= b ? value >= a && value <= b : value >= a || value <= b;
  });
}

const monthOf = (end: string) => (/^\d+$/.test(end) ? Number(end) : MONTHS.indexOf(end) + 1);
const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3));

export function inInterval(interval: TimeInterval, at: number): boolean {
  return interval.time_intervals.some((spec) => {
    const t = localTime(at, spec.location);
    if (spec.weekdays && !inRanges(t.weekday, spec.weekdays, (d) => DAYS.indexOf(d))) return false;
    if (
      spec.times &&
      !spec.times.some(
        (x) => t.minutes >= minutesOf(x.start_time) && t.minutes < minutesOf(x.end_time),
      )
    )
      return false;
    if (
      spec.days_of_month &&
      !inRanges(t.day, spec.days_of_month, (d) =>
        Number(d) < 0 ? t.daysInMonth + 1 + Number(d) : Number(d),
      )
    )
      return false;
    if (spec.months && !inRanges(t.month, spec.months, monthOf)) return false;
    if (spec.years && !inRanges(t.year, spec.years, Number)) return false;
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

// What both sides of the peer bench measure with: CPU and peak RSS of a process from /proc,
// waiting for InfluxDB to hold every point, and InfluxQL answers.
import { readFileSync } from "node:fs";
import { influxql } from "../test/support/influx.js";
import type { InfluxEndpoint } from "../test/support/servers.js";

const TICKS_PER_S = 100; // USER_HZ on Linux

export interface Job {
  /** agg: 10 s windows; raw: Kafka → InfluxDB; pipe: Kafka → pipelines (validate, normalize) → InfluxDB. */
  name: "agg" | "raw" | "pipe";
  side: "vigil" | "telegraf";
}

export interface Figures {
  cpuSeconds: number;
  peakRssMiB: number;
  samplesPerS: number;
}

export const cpuSeconds = (pid: number) => cpuTicks(pid) / TICKS_PER_S;

export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
}

export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`peer bench: timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

/** Waits for `count()` to reach `target`; fails once it has not moved for `stallMs`. */
export async function reaches(
  what: string,
  count: () => Promise<number>,
  target: number,
  stallMs = 60_000,
) {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const n = await count();
    if (n >= target) return;
    if (n !== last) [last, movedAt] = [n, Date.now()];
    else if (Date.now() - movedAt > stallMs)
      throw new Error(
        `peer bench: ${what}: ${n} of ${target}, no progress for ${stallMs / 1000} s`,
      );
    await new Promise((done) => setTimeout(done, 250));
  }
}

type Rows = { series?: { name: string; columns: string[]; values: unknown[][] }[] }[];

export async function query(influx: InfluxEndpoint, db: string, q: string) {
  const answer = (await influxql(influx, q, db)) as { results: Rows };
  return answer.results[0]?.series ?? [];
}

/** Sum of a field over every measurement matching a regex, up to a time (0 when none is written yet). */
export async function total(
  influx: InfluxEndpoint,
  db: string,
  field: string,
  from: string,
  upTo?: number,
) {
  const until = upTo === undefined ? "" : ` WHERE time <= ${upTo}ms`;
  const series = await query(influx, db, `SELECT sum("${field}") FROM /${from}/${until}`);
  return series.reduce((n, s) => n + Number(s.values[0]?.[1] ?? 0), 0);
}

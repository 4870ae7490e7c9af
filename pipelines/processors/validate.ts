// validate: rejects samples that downstream stages cannot trust — an invalid metric or label
// name, a non-finite value, a timestamp too far ahead of the clock or too far behind in event
// time — with the reason.
//
// Age is judged in event time: against the newest sample seen from the same source (its `host`,
// else `instance` label) on this partition, not against the wall clock, so a backlog an agent
// replays after an hours-long outage passes while a straggler far behind its own source does not.
// Only `maxBacklog` (a week by default) is measured against the clock.
import { z } from "zod";
import { duration } from "../../services/chassis/config.js";
import { LABEL_NAME, METRIC_NAME } from "../../schemas/names.js";
import type { MetricSample } from "../../schemas/types.js";
import type { ProcessorSpec, Rejected } from "../api.js";

const config = z.strictObject({
  /** How far a sample may be behind the newest one of its source. */
  maxAge: duration.default(3_600_000),
  /**
   * How far behind the clock a sample may be at all (a replayed backlog's bound): a week, or
   * maxAge where that is longer (a configuration that accepted old data goes on accepting it).
   */
  maxBacklog: duration.optional(),
  /** How far ahead of our clock a sample may be. */
  maxFuture: duration.default(300_000),
  /**
   * Longest metric or label name, in characters: a name past it is garbage or an attack (and
   * InfluxDB refuses a series key over 64 KiB), never a series.
   */
  maxNameLength: z.number().int().min(1).default(1024),
  /**
   * NaN and ±Inf are valid Prometheus sample values (prom-client exposes NaN for a statistic with
   * no data yet; Prometheus uses NaN as its staleness marker): carried by default. A store that
   * cannot hold them (InfluxDB) skips them, counted. false: rejected here instead.
   */
  allowNonFinite: z.boolean().default(true),
});

const WEEK = 7 * 24 * 3_600_000;

/** The first label name that is not valid, and the first name (metric or label) over the limit. */
function checkNames(sample: MetricSample, maxLength: number) {
  let badLabel: string | undefined;
  let long = sample.name.length > maxLength ? sample.name : undefined;
  for (const name in sample.labels) {
    if (badLabel === undefined && !LABEL_NAME.test(name)) badLabel = name;
    if (long === undefined && name.length > maxLength) long = name;
  }
  return { badLabel, long };
}
const sourceOf = (sample: MetricSample) => sample.labels.host ?? sample.labels.instance ?? "";
const iso = (ms: number) => new Date(ms).toISOString();

export const validate: ProcessorSpec<typeof config> = {
  name: "validate",
  description:
    "Rejects samples with invalid names, non-finite values, or timestamps too far ahead of the clock or behind their source's event time.",
  config,
  // One instance per input partition: its sources' watermarks are in memory (after a restart the
  // first batch sets them again, which can only let more through, never dead-letter more).
  create(settings) {
    const watermarks = new Map<string, number>();
    const maxBacklog = settings.maxBacklog ?? Math.max(WEEK, settings.maxAge);
    return {
      process(samples, context) {
        const now = context.now();
        const kept: MetricSample[] = [];
        const rejected: Rejected[] = [];
        const reject = (sample: MetricSample, reason: string) =>
          rejected.push({ sample, code: "VGL_VALIDATE", reason });
        const timely: MetricSample[] = [];
        for (const sample of samples) {
          const { badLabel, long } = checkNames(sample, settings.maxNameLength);
          if (long !== undefined)
            reject(
              sample,
              `name: "${long.slice(0, 64)}…" is ${long.length} characters, longer than ${settings.maxNameLength}`,
            );
          else if (!METRIC_NAME.test(sample.name))
            reject(sample, `name: "${sample.name}" is not a valid metric name`);
          else if (badLabel !== undefined)
            reject(sample, `labels.${badLabel}: not a valid label name`);
          else if (!settings.allowNonFinite && !Number.isFinite(sample.value))
            reject(sample, `value: ${sample.value} is not finite`);
          else if (sample.timestamp > now + settings.maxFuture)
            reject(
              sample,
              `timestamp: ${iso(sample.timestamp)} is more than ${settings.maxFuture / 1000}s ahead`,
            );
          else if (sample.timestamp < now - maxBacklog)
            reject(
              sample,
              `timestamp: ${iso(sample.timestamp)} is older than the backlog limit of ${maxBacklog / 1000}s`,
            );
          else {
            timely.push(sample);
            const source = sourceOf(sample);
            if (sample.timestamp > (watermarks.get(source) ?? -Infinity))
              watermarks.set(source, sample.timestamp);
          }
        }
        for (const sample of timely) {
          const newest = watermarks.get(sourceOf(sample))!;
          if (sample.timestamp < newest - settings.maxAge)
            reject(
              sample,
              `timestamp: ${iso(sample.timestamp)} is older than ${settings.maxAge / 1000}s behind its source's newest sample (${iso(newest)})`,
            );
          else kept.push(sample);
        }
        return { samples: kept, rejected };
      },
    };
  },
};

// The detection engine of one input partition: matches each sample to the rules that select it,
// keeps per rule and series what the rule needs (a window, a detector's state, the alert's life)
// and returns the alert events the samples cause. `tick` gives it processing time: silent series
// (no data), re-sends of firing alerts. Its state is one keyed store of tracks (rule × series),
// plain JSON: every track a sample or a tick changes is marked, and only those go to the changelog
// at the next commit; restoring a partition brings the store back on whichever instance owns it.
import type { Alert, LogEvent, MetricSample } from "../../schemas/types.js";
import { seriesKey } from "../../pipelines/api.js";
import { DETECTORS } from "./anomaly/registry.js";
import {
  alertEvent,
  alertLabels,
  holdFor,
  newAlert,
  recordTransition,
  type AlertTrack,
} from "./lifecycle.js";
import { countAt, groupOf, keptFor, measure, selects } from "./log-window.js";
import { increase, prune, reduce, slide, type Points } from "./reduce.js";
import type { Rule } from "./rules/schema.js";
import type { Selector } from "./rules/selector.js";
import { KeyedStore } from "../chassis/state-store.js";

/** What one rule keeps about one series (or, for a ratio, one group). */
interface Track {
  /** The series' labels, as alerts carry them. */
  labels: Record<string, string>;
  /** Processing time of the last sample. */
  lastSeen: number;
  /** Event time of the last sample. */
  lastAt: number;
  lastValue: number;
  /** Breaching evaluations in a row. */
  streak: number;
  points?: Points;
  /** Ratio rules: each contributing series' window, keyed n|d + series. */
  parts?: Record<string, Points>;
  detector?: unknown;
  /** Event times of recent firing/resolved transitions (flapping). */
  transitions: number[];
  alert?: AlertTrack;
  absent?: AlertTrack;
}

interface Candidate {
  rule: Rule;
  selector: Selector;
  role: "series" | "numerator" | "denominator";
}

export interface EngineOptions {
  /** Processing time between re-sends of a firing alert. */
  resendEvery: number;
  /** Tracks (rule × series) kept at most; samples of new series beyond it are counted and skipped. */
  maxTracks: number;
  /** Counts what the engine skips, by reason. */
  count?: (reason: string, n?: number) => void;
}

const SEP = "\u0000";

export type TrackStore = KeyedStore<Track>;
export type { Track };

export class DetectionEngine {
  private byMetric = new Map<string, Candidate[]>();
  private anyMetric: Candidate[] = [];
  private rules = new Map<string, Rule>();
  private logRules: Rule[] = [];

  constructor(
    rules: Rule[],
    private options: EngineOptions,
    /** The partition's tracks (as restored); an in-memory store that writes nowhere by default. */
    private tracks: TrackStore = new KeyedStore<Track>("tracks", undefined, false),
  ) {
    for (const rule of rules) {
      this.rules.set(rule.name, rule);
      if (rule.logs) {
        this.logRules.push(rule);
        continue;
      }
      const selected: [Selector, Candidate["role"]][] = rule.ratio
        ? [
            [rule.ratio.numerator, "numerator"],
            [rule.ratio.denominator, "denominator"],
          ]
        : [[rule.select!, "series"]];
      for (const [selector, role] of selected) {
        const candidate = { rule, selector, role };
        if (selector.metric === undefined) this.anyMetric.push(candidate);
        else
          this.byMetric.set(selector.metric, [
            ...(this.byMetric.get(selector.metric) ?? []),
            candidate,
          ]);
      }
    }
    // A sample is offered to the rules naming its metric and to those selecting by regex.
    for (const [metric, list] of this.byMetric)
      this.byMetric.set(metric, [...list, ...this.anyMetric]);
  }

  get size(): number {
    return this.tracks.size;
  }

  /** Whether any rule counts log events (the detector then reads the log topics too). */
  get readsLogs(): boolean {
    return this.logRules.length > 0;
  }

  /** Log events: each counted in the window of every log rule selecting it, per group. */
  observeLogs(logEvents: LogEvent[], now: number): Alert[] {
    const events: Alert[] = [];
    const touched = new Map<string, [Rule, Track]>();
    for (const event of logEvents)
      for (const rule of this.logRules) {
        const logs = rule.logs!;
        if (!Number.isFinite(event.timestamp) || !selects(logs, event)) continue;
        const group = groupOf(logs, event);
        const key = `${rule.name}${SEP}${seriesKey({ name: "", labels: group })}`;
        const track = this.track(key, group, now);
        if (!track) continue;
        track.lastAt = Math.max(track.lastAt, event.timestamp);
        countAt((track.points ??= []), event.timestamp, track.lastAt - keptFor(logs));
        touched.set(key, [rule, track]);
      }
    for (const [rule, track] of touched.values())
      this.logMeasure(rule, track, track.lastAt, now, events);
    return events;
  }

  /** A log rule's window at `at`: its count (or spike) judged by the rule's condition. */
  private logMeasure(rule: Rule, track: Track, at: number, now: number, events: Alert[]): void {
    const value = measure(rule.logs!, track.points ?? [], at);
    const breach = value !== undefined && this.thresholdBreach(rule, track, value);
    track.lastValue = value ?? 0;
    this.evaluate(rule, track, at, value ?? 0, breach, now, events);
  }

  /**
   * Time passes for a log rule's group: its window moves on without events, so a burst's alert
   * resolves and a flatline fires. A group with nothing in its window and nothing firing is
   * forgotten; one kept only by a flatline is forgotten after noData.forgetAfter.
   */
  private logTick(rule: Rule, key: string, track: Track, now: number, events: Alert[]): void {
    const logs = rule.logs!;
    const at = Math.max(track.lastAt, now);
    const points = (track.points ??= []);
    const before = points.length;
    prune(points, at, keptFor(logs));
    const firingBefore = track.alert?.state;
    const emitted = events.length;
    this.logMeasure(rule, track, at, now, events);
    if (!track.alert && (points.length === 0 || now - track.lastSeen >= rule.noData.forgetAfter)) {
      this.tracks.delete(key);
      return;
    }
    if (points.length !== before || events.length > emitted || track.alert?.state !== firingBefore)
      this.tracks.touch(key);
  }

  observe(samples: MetricSample[], now: number): Alert[] {
    const events: Alert[] = [];
    const ratios = new Map<string, [Rule, Track]>();
    for (const sample of samples) {
      const candidates = this.byMetric.get(sample.name) ?? this.anyMetric;
      if (candidates.length === 0) continue;
      if (!Number.isFinite(sample.value)) {
        this.count("non_finite");
        continue;
      }
      let series: string | undefined;
      for (const candidate of candidates) {
        if (!candidate.selector.matches(sample)) continue;
        series ??= seriesKey(sample);
        const { rule } = candidate;
        if (rule.ratio) {
          const group = Object.fromEntries(rule.ratio.by.map((l) => [l, sample.labels[l] ?? ""]));
          const key = `${rule.name}${SEP}${seriesKey({ name: "", labels: group })}`;
          const track = this.track(key, group, now);
          if (!track) continue;
          track.parts ??= {};
          const part = `${candidate.role[0]}|${series}`;
          this.count(
            "window_overflow",
            slide((track.parts[part] ??= []), sample.timestamp, sample.value, rule.ratio.over),
          );
          track.lastAt = Math.max(track.lastAt, sample.timestamp);
          ratios.set(key, [rule, track]);
          continue;
        }
        const labels = candidate.selector.metric
          ? sample.labels
          : { ...sample.labels, metric: sample.name };
        const track = this.track(`${rule.name}${SEP}${series}`, labels, now);
        if (!track) continue;
        if (sample.timestamp <= track.lastAt) {
          this.count("out_of_order"); // a repeat or an older sample: already judged
          continue;
        }
        this.sample(rule, track, sample.timestamp, sample.value, now, events);
      }
    }
    for (const [rule, track] of ratios.values()) this.ratio(rule, track, now, events);
    return events;
  }

  /** Processing time passes: silent series, re-sends. */
  tick(now: number): Alert[] {
    const events: Alert[] = [];
    for (const [key, track] of this.tracks.entries()) {
      const rule = this.rules.get(key.slice(0, key.indexOf(SEP)));
      if (!rule) {
        this.tracks.delete(key); // its rule was removed from the configuration
        continue;
      }
      if (rule.logs) {
        this.logTick(rule, key, track, now, events);
        if (!this.tracks.has(key)) continue;
      }
      const before = events.length;
      const silentFor = now - track.lastSeen;
      if (!rule.logs && silentFor >= rule.noData.after)
        this.silent(rule, key, track, silentFor, now, events);
      for (const alert of [track.alert, track.absent])
        if (alert?.state === "firing" && now - alert.lastSentAt >= this.options.resendEvery) {
          alert.lastSentAt = now;
          events.push(alertEvent(rule, alert, { status: "firing", resend: true, now }));
        }
      if (events.length > before) this.tracks.touch(key); // changed in place: written at commit
    }
    return events;
  }

  /** Every alert now firing, as its event would say. */
  firing(now: number): Alert[] {
    const out: Alert[] = [];
    for (const [key, track] of this.tracks.entries()) {
      const rule = this.rules.get(key.slice(0, key.indexOf(SEP)));
      for (const alert of [track.alert, track.absent])
        if (rule && alert?.state === "firing")
          out.push(alertEvent(rule, alert, { status: "firing", now }));
    }
    return out;
  }

  private count(reason: string, n = 1): void {
    if (n > 0) this.options.count?.(reason, n);
  }

  private track(key: string, labels: Record<string, string>, now: number): Track | undefined {
    let track = this.tracks.get(key);
    if (!track) {
      if (this.tracks.size >= this.options.maxTracks) {
        this.count("too_many_series");
        return undefined;
      }
      track = {
        labels,
        lastSeen: now,
        lastAt: -Infinity,
        lastValue: 0,
        streak: 0,
        transitions: [],
      };
    }
    track.lastSeen = now;
    this.tracks.set(key, track); // a sample changes it: written at the next commit
    return track;
  }

  private sample(
    rule: Rule,
    track: Track,
    at: number,
    raw: number,
    now: number,
    events: Alert[],
  ): void {
    track.lastAt = at;
    track.lastValue = raw;
    this.dataReturned(rule, track, now, events);
    let value = raw;
    if (rule.reduce) {
      track.points ??= [];
      this.count("window_overflow", slide(track.points, at, raw, rule.reduce.over));
      value = reduce(rule.reduce.fn, track.points);
    }
    let breach: boolean;
    if (rule.anomaly) {
      const { detector, threshold, warmup, minDeviation, direction, options } = rule.anomaly;
      const spec = DETECTORS[detector]!;
      track.detector ??= spec.init(options);
      const seen = spec.observe(track.detector, value, at, options, warmup);
      const deviation = value - seen.expected;
      breach =
        seen.ready &&
        Math.abs(seen.score) >= threshold &&
        Math.abs(deviation) >= minDeviation &&
        (direction === "both" || (direction === "up" ? deviation > 0 : deviation < 0));
    } else if (rule.when) {
      breach = this.thresholdBreach(rule, track, value);
    } else return; // an absence-only rule: samples just say the series is alive
    this.evaluate(rule, track, at, value, breach, now, events);
  }

  private ratio(rule: Rule, track: Track, now: number, events: Alert[]): void {
    const ratio = rule.ratio!;
    let numerator = 0;
    let denominator = 0;
    for (const [part, points] of Object.entries(track.parts!)) {
      prune(points, track.lastAt, ratio.over);
      if (points.length === 0) {
        delete track.parts![part];
        continue;
      }
      if (part.startsWith("n|")) numerator += increase(points);
      else denominator += increase(points);
    }
    this.dataReturned(rule, track, now, events);
    if (denominator <= 0) return; // nothing happened in the window: no ratio to judge
    const value = numerator / denominator;
    track.lastValue = value;
    this.evaluate(
      rule,
      track,
      track.lastAt,
      value,
      this.thresholdBreach(rule, track, value),
      now,
      events,
    );
  }

  /** Hysteresis: a firing alert with a recovery threshold stays active until that holds. */
  private thresholdBreach(rule: Rule, track: Track, value: number): boolean {
    return track.alert?.state === "firing" && rule.recover
      ? !rule.recover.test(value)
      : rule.when!.test(value);
  }

  private evaluate(
    rule: Rule,
    track: Track,
    at: number,
    value: number,
    breach: boolean,
    now: number,
    events: Alert[],
  ): void {
    track.streak = breach ? track.streak + 1 : 0;
    const alert = track.alert;
    const active = alert?.state === "firing" ? breach : breach && track.streak >= rule.consecutive;
    if (active) {
      if (!alert) {
        track.alert = newAlert(rule, alertLabels(rule, track.labels, value), at, value);
        if (rule.for === 0) this.fire(rule, track, track.alert, at, now, events);
      } else {
        alert.lastActive = at;
        alert.value = value;
        if (alert.state === "pending" && at - alert.activeSince >= rule.for)
          this.fire(rule, track, alert, at, now, events);
      }
      return;
    }
    if (!alert) return;
    if (alert.state === "pending") {
      delete track.alert; // never announced, so nothing to take back
      return;
    }
    alert.value = value;
    if (at - alert.lastActive < holdFor(rule, alert)) return;
    if (!alert.flapping && recordTransition(rule, track.transitions, at)) {
      alert.flapping = true;
      alert.lastSentAt = now;
      events.push(alertEvent(rule, alert, { status: "firing", now }));
      return;
    }
    this.resolve(rule, track, alert, at, now, events);
    delete track.alert;
  }

  private fire(
    rule: Rule,
    track: Track,
    alert: AlertTrack,
    at: number,
    now: number,
    events: Alert[],
  ): void {
    alert.state = "firing";
    alert.lastSentAt = now;
    if (recordTransition(rule, track.transitions, at)) alert.flapping = true;
    events.push(alertEvent(rule, alert, { status: "firing", now }));
  }

  private resolve(
    rule: Rule,
    track: Track,
    alert: AlertTrack,
    at: number,
    now: number,
    events: Alert[],
  ): void {
    events.push(alertEvent(rule, alert, { status: "resolved", endsAt: at, now }));
    if (alert.flapping) track.transitions = [];
  }

  private dataReturned(rule: Rule, track: Track, now: number, events: Alert[]): void {
    if (!track.absent) return;
    this.resolve(rule, track, track.absent, track.lastAt, now, events);
    delete track.absent;
  }

  private silent(
    rule: Rule,
    key: string,
    track: Track,
    silentFor: number,
    now: number,
    events: Alert[],
  ): void {
    const forget = rule.noData.action === "resolve" || silentFor >= rule.noData.forgetAfter;
    if (track.alert?.state === "firing" && (forget || rule.noData.action === "absent")) {
      this.resolve(rule, track, track.alert, now, now, events);
      delete track.alert;
    }
    if (forget) {
      if (track.absent) this.resolve(rule, track, track.absent, now, now, events);
      this.tracks.delete(key);
      return;
    }
    if (rule.noData.action === "absent" && !track.absent) {
      const labels = alertLabels(rule, track.labels, track.lastValue);
      if (rule.when || rule.anomaly) labels.nodata = "true";
      track.absent = newAlert(
        rule,
        labels,
        track.lastAt + rule.noData.after,
        track.lastValue,
        true,
      );
      track.absent.state = "firing";
      track.absent.lastSentAt = now;
      events.push(alertEvent(rule, track.absent, { status: "firing", now }));
    }
  }
}

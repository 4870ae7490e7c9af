// peer-group: compares each member of a group with the group itself, window by window — "rank 17's
// GPU runs 25 % slower than the other 511" without any absolute threshold. For every metric named
// and every group (`groupBy` labels: the GPUs of one Slurm job, the nodes of one model), each
// event-time window gathers each member's mean (a member is a series); when the window closes the
// group's median and median absolute deviation (MAD) give each member its robust z-score
//
//   z = (x − median) / (1.4826 · max(MAD, minSpread · |median|))
//
// written as <metric>_peer_zscore (and x / median as <metric>_peer_ratio) with the member's labels,
// stamped with the window's end; <metric>_peer_median carries the group's labels. Rules fire on
// those (`gpu_sm_clock_hertz_peer_zscore < -3.5`). The MAD floor keeps a group of identical GPUs
// from turning a 0.1 % difference into an infinite score. A window with fewer members than
// `minGroupSize` is not judged; neither are a group's first `warmup` windows (a job starting up).
//
// Windows close by each group's own event-time watermark (newest sample − allowedLateness), or all
// of them once the input is read to its end and quiet for `idleTimeout`. A sample for a closed
// window is late: to the late topic, counted. State, in the keyed store: one key per member of an
// open window (`<group>@<start>\0<series>`: its sum, count and labels) and one clock per group, so
// a commit writes the members a batch touched — never a whole group. The pipeline re-keys the input by group (`partitionKey`), so a group's
// members meet on one partition whichever hosts they run on.
import { z } from "zod";
import type { MetricSample } from "../../schemas/types.js";
import { duration } from "../../services/chassis/config.js";
import { defineOperator, seriesKey } from "../api.js";
import { CLOCK, closeGroups, type GroupClock } from "../group-windows.js";

/** One member's readings within one window: [sum, count, labels]. */
type Member = [number, number, Record<string, string>];

/** A closed window as judged: the metric, the group's labels, its start and its members. */
interface Window {
  name: string;
  group: Record<string, string>;
  start: number;
  members: Member[];
}

interface Clock extends GroupClock {
  /** Windows of this group closed so far (warm-up). */
  closed: number;
}

type Entry = Member | Clock | { lastInputAt: number };

/** Between a window (`<group>@<start>`) and a member's series in a state key. */
const MEMBER = "\u0000";
/** 1 / Φ⁻¹(3/4): makes the MAD of normal data estimate its standard deviation. */
const MAD_SCALE = 1.4826;

const config = z.strictObject({
  /** Metrics compared; others are not taken. */
  metrics: z.array(z.string().min(1)).min(1),
  /** Labels that make a group (a sample without all of them is not taken). */
  groupBy: z.array(z.string().min(1)).min(1),
  window: duration.default(60_000),
  allowedLateness: duration.default(0),
  /** Members a window needs before anyone in it is judged. */
  minGroupSize: z.number().int().min(3).default(5),
  /** Windows of a group closed before its members are judged. */
  warmup: z.number().int().min(0).default(2),
  /** Floor of the MAD, as a fraction of the median. */
  minSpread: z.number().min(0).default(0.01),
  /** Processing time without input after which every open window closes; 0 never. */
  idleTimeout: duration.default(30_000),
  /**
   * A group silent this long (event time, against the partition's newest sample) is forgotten —
   * a finished job — and warms up again should it come back.
   */
  forgetAfter: duration.default(3_600_000),
});

type Config = z.output<typeof config>;

function groupOf(cfg: Config, sample: MetricSample) {
  const labels: Record<string, string> = {};
  for (const l of cfg.groupBy) {
    const value = sample.labels[l];
    if (value === undefined || value === "") return undefined;
    labels[l] = value;
  }
  return { key: seriesKey({ name: sample.name, labels }), labels };
}

function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The samples a closed window gives: each member's score and ratio, and the group's median. */
export function judge(w: Window, cfg: Config): MetricSample[] {
  const end = w.start + cfg.window;
  const members = w.members.map(([sum, n, labels]) => [sum / n, labels] as const);
  const values = members.map(([v]) => v).sort((a, b) => a - b);
  const med = median(values);
  const mad = median(values.map((v) => Math.abs(v - med)).sort((a, b) => a - b));
  const scale = MAD_SCALE * Math.max(mad, cfg.minSpread * Math.abs(med), Number.MIN_VALUE);
  const sample = (name: string, value: number, labels: Record<string, string>): MetricSample => ({
    name,
    value,
    timestamp: end,
    labels,
    type: "gauge",
    unit: "",
    startTimestamp: null,
  });
  const out = [sample(`${w.name}_peer_median`, med, w.group)];
  for (const [value, labels] of members) {
    out.push(sample(`${w.name}_peer_zscore`, (value - med) / scale, labels));
    if (med !== 0) out.push(sample(`${w.name}_peer_ratio`, value / med, labels));
  }
  return out;
}

export const peerGroup = defineOperator<typeof config, Entry>({
  name: "peer-group",
  description:
    "Each member of a group against the group at the same event-time window: robust z-score against the median and MAD, with minimum group size and warm-up.",
  config,
  groupLabels: (cfg) => cfg.groupBy,
  partitionKey: (cfg) => {
    const wanted = new Set(cfg.metrics);
    return (sample) => (wanted.has(sample.name) ? groupOf(cfg, sample)?.key : undefined);
  },
  create: (cfg, state) => {
    const wanted = new Set(cfg.metrics);
    const clockOf = (group: string): Clock => {
      const c = state.get(CLOCK + group) as Clock | undefined;
      return {
        maxEventTime: c?.maxEventTime ?? -Infinity,
        closedUpTo: c?.closedUpTo ?? -Infinity,
        closed: c?.closed ?? 0,
      };
    };
    /** Open windows by group, each with its members' state keys: closing reads only those. */
    const open = new Map<string, Map<number, Set<string>>>();
    const track = (group: string, start: number, key: string) => {
      let windows = open.get(group);
      if (!windows) open.set(group, (windows = new Map()));
      let keys = windows.get(start);
      if (!keys) windows.set(start, (keys = new Set()));
      keys.add(key);
    };
    /** Each group's newest event time, for forgetting finished groups a few at a time. */
    const seen = new Map<string, number>();
    let sweep: Iterator<[string, number]> | undefined;
    const SWEEP = 100;
    function forget(newest: number, count: (reason: string) => void): void {
      for (let i = 0; i < SWEEP; i++) {
        sweep ??= seen.entries();
        const next = sweep.next();
        if (next.done) {
          sweep = undefined;
          return;
        }
        const [group, at] = next.value;
        if (at >= newest - cfg.forgetAfter) continue;
        // Its last window can no longer fill: dropped unjudged, counted.
        for (const keys of open.get(group)?.values() ?? []) {
          for (const key of keys) state.delete(key);
          count("forgotten_window");
        }
        open.delete(group);
        state.delete(CLOCK + group);
        seen.delete(group);
      }
    }
    for (const [key] of state.entries()) {
      if (key.startsWith(CLOCK))
        seen.set(key.slice(CLOCK.length), clockOf(key.slice(CLOCK.length)).maxEventTime);
      const cut = key.indexOf(MEMBER);
      if (key.startsWith("~") || cut < 0) continue;
      const at = key.lastIndexOf("@", cut);
      track(key.slice(0, at), Number(key.slice(at + 1, cut)), key);
    }

    function close(
      group: string,
      upTo: number,
      clock: Clock,
      out: MetricSample[],
      count: (reason: string) => void,
    ) {
      const windows = open.get(group);
      if (!windows) return;
      const closing = [...windows.keys()]
        .filter((s) => s + cfg.window <= upTo)
        .sort((a, b) => a - b);
      for (const start of closing) {
        const keys = windows.get(start)!;
        const members = [...keys].map((k) => state.get(k) as Member).filter(Boolean);
        if (members.length < cfg.minGroupSize) count("group_too_small");
        else if (clock.closed < cfg.warmup) count("warming_up");
        else {
          const name = group.slice(0, group.indexOf("{"));
          const labels = Object.fromEntries(cfg.groupBy.map((l) => [l, members[0]![2][l]!]));
          out.push(...judge({ name, group: labels, start, members }, cfg));
        }
        for (const key of keys) state.delete(key);
        windows.delete(start);
        clock.closed += 1;
        clock.closedUpTo = Math.max(clock.closedUpTo, start + cfg.window);
      }
      if (windows.size === 0) open.delete(group);
    }

    return (samples, context) => {
      const late: MetricSample[] = [];
      const clocks = new Map<string, Clock>();
      const touched = new Map<string, Member>();
      let skipped = 0;
      for (const sample of samples) {
        const found = wanted.has(sample.name) ? groupOf(cfg, sample) : undefined;
        if (!found) {
          skipped += 1;
          continue;
        }
        let clock = clocks.get(found.key);
        if (!clock) clocks.set(found.key, (clock = clockOf(found.key)));
        const start = Math.floor(sample.timestamp / cfg.window) * cfg.window;
        const watermark = Math.max(clock.maxEventTime - cfg.allowedLateness, clock.closedUpTo);
        if (start + cfg.window <= watermark) {
          late.push(sample);
          context.count("late");
          continue;
        }
        const key = `${found.key}@${start}${MEMBER}${seriesKey(sample)}`;
        let member = touched.get(key) ?? (state.get(key) as Member | undefined);
        if (!member) {
          member = [0, 0, sample.labels];
          track(found.key, start, key);
        }
        member[0] += sample.value;
        member[1] += 1;
        touched.set(key, member);
        clock.maxEventTime = Math.max(clock.maxEventTime, sample.timestamp);
      }
      for (const [key, member] of touched) state.set(key, member); // changed: written at commit
      if (skipped > 0) context.count("not_selected", skipped);
      const out: MetricSample[] = [];
      const count = (reason: string) => context.count(reason);
      closeGroups({
        state,
        context,
        touched: clocks,
        open: () => open.keys(),
        clockOf,
        hadInput: clocks.size > 0 || late.length > 0,
        allowedLateness: cfg.allowedLateness,
        idleTimeout: cfg.idleTimeout,
        close: (group, upTo, clock) => close(group, upTo, clock, out, count),
      });
      let newest = -Infinity;
      for (const [group, clock] of clocks) {
        seen.set(group, clock.maxEventTime);
        newest = Math.max(newest, clock.maxEventTime);
      }
      if (newest > -Infinity) forget(newest, count);
      return { samples: out, late };
    };
  },
});

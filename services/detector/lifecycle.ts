// The life of one alert: inactive → pending → firing → resolved, decided by the rule's evaluation
// of each sample (event time), so the same input always gives the same alerts, on any instance.
//
//   active sample, no alert       → pending (or firing at once when `for` is 0)
//   pending, active for `for`     → firing: one event
//   pending, inactive sample      → gone, nothing emitted (a pending alert is never announced)
//   firing, inactive for keepFiringFor (or the flapping hold) → resolved: one event
//
// Flapping: when an alert's firing/resolved transitions within the rule's window reach the limit,
// it is marked flapping (one event says so) and held firing until its condition has been clear for
// the hold time, instead of paging on every swing.
import { createHash } from "node:crypto";
import type { Alert } from "../../schemas/types.js";
import type { Rule } from "./rules/schema.js";

export interface AlertTrack {
  state: "pending" | "firing";
  fingerprint: string;
  labels: Record<string, string>;
  /** Event time the condition first held. */
  activeSince: number;
  /** Event time the condition last held. */
  lastActive: number;
  value: number;
  /** Processing time of the last event emitted for it. */
  lastSentAt: number;
  flapping: boolean;
  /** An absent (no data) alert, rather than the rule's condition. */
  absent?: boolean;
}

/** Stable identity of an alert: hash of the rule name and its sorted labels. */
export function fingerprint(rule: string, labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash("sha256")
    .update(JSON.stringify([rule, sorted]))
    .digest("hex")
    .slice(0, 16);
}

export function newAlert(
  rule: Rule,
  labels: Record<string, string>,
  at: number,
  value: number,
  absent = false,
): AlertTrack {
  return {
    state: "pending",
    fingerprint: fingerprint(rule.name, labels),
    labels,
    activeSince: at,
    lastActive: at,
    value,
    lastSentAt: 0,
    flapping: false,
    ...(absent && { absent }),
  };
}

/** What an alert of the rule is measured against: the firing threshold, or the anomaly score. */
export const thresholdOf = (rule: Rule): number | null =>
  rule.when?.threshold ?? rule.anomaly?.threshold ?? null;

/** An alert's labels: the series', the rule's (templates rendered), alertname and severity. */
export function alertLabels(
  rule: Rule,
  series: Record<string, string>,
  value: number,
): Record<string, string> {
  const data = { labels: series, value, threshold: thresholdOf(rule), rule: rule.name };
  const extra = Object.fromEntries(Object.entries(rule.labels).map(([k, t]) => [k, t(data)]));
  return { ...series, ...extra, alertname: rule.name, severity: rule.severity };
}

/** Records a transition; true when that makes the alert flapping. */
export function recordTransition(rule: Rule, transitions: number[], at: number): boolean {
  transitions.push(at);
  while (transitions.length > 0 && transitions[0]! <= at - rule.flapping.window)
    transitions.shift();
  if (transitions.length > rule.flapping.transitions) transitions.shift();
  return transitions.length >= rule.flapping.transitions;
}

/** How long a firing alert stays firing after its condition clears. */
export function holdFor(rule: Rule, alert: AlertTrack): number {
  return Math.max(rule.keepFiringFor, alert.flapping ? rule.flapping.hold : 0);
}

export interface EventDetails {
  status: Alert["status"];
  resend?: boolean;
  endsAt?: number;
  now: number;
}

/** The alert event for `alert` in its current state, with labels and annotations rendered. */
export function alertEvent(rule: Rule, alert: AlertTrack, details: EventDetails): Alert {
  const threshold = thresholdOf(rule);
  const data = { labels: alert.labels, value: alert.value, threshold, rule: rule.name };
  const summary =
    alert.absent && rule.when
      ? `No data for ${rule.name} from ${describe(alert.labels)} for ${rule.noData.after / 1000}s`
      : rule.annotations.summary(data);
  return {
    fingerprint: alert.fingerprint,
    rule: rule.name,
    severity: rule.severity,
    status: details.status,
    labels: alert.labels,
    annotations: {
      summary,
      description: rule.annotations.description?.(data) ?? "",
      runbook_url: rule.annotations.runbook?.(data) ?? null,
    },
    startsAt: alert.activeSince,
    endsAt: details.endsAt ?? null,
    value: alert.value,
    threshold,
    resend: details.resend ?? false,
    flapping: alert.flapping,
    sentAt: details.now,
    extraAnnotations: {},
    generatorUrl: null,
    source: "detector",
  };
}

function describe(labels: Record<string, string>): string {
  return Object.entries(labels)
    .filter(([k]) => k !== "alertname" && k !== "severity" && k !== "nodata")
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

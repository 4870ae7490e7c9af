// TypeScript shapes of the latest version of each Avro schema in avro/.
export type MetricType = "unknown" | "gauge" | "counter" | "histogram_bucket" | "summary_quantile";

export interface MetricSample {
  name: string;
  value: number;
  /** Event time, ms since the Unix epoch. */
  timestamp: number;
  labels: Record<string, string>;
  type: MetricType;
  unit: string;
  /** When a counter series started (OpenMetrics `_created`); null when unknown. */
  startTimestamp: number | null;
  /** Nanoseconds past `timestamp`'s millisecond (1–999 999); absent when there are none. */
  nanos?: number;
}

export interface MetricBatch {
  source: string;
  samples: MetricSample[];
}

export type LogSeverity = "unknown" | "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export interface LogEvent {
  timestamp: number;
  severity: LogSeverity;
  message: string;
  service: string;
  host: string;
  attributes: Record<string, string>;
  traceId: string | null;
  spanId: string | null;
}

export interface LogBatch {
  source: string;
  events: LogEvent[];
}

export interface Alert {
  fingerprint: string;
  rule: string;
  severity: "critical" | "major" | "minor";
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string | null };
  startsAt: number;
  endsAt: number | null;
  value: number;
  threshold: number | null;
  /** A periodic re-send of a firing alert whose state did not change. */
  resend: boolean;
  /** Changed state too often: held firing until it settles. */
  flapping: boolean;
  /** When the detector emitted the event (ms since the Unix epoch; 0 when unknown). */
  sentAt: number;
  /** Annotations beyond the three above (alerts from Prometheus carry any). */
  extraAnnotations?: Record<string, string>;
  /** Where the alert was generated (Prometheus's link); null or absent for detector alerts. */
  generatorUrl?: string | null;
  /** Who raised it: "detector", or "api" (POST /api/v2/alerts). */
  source?: string;
}

export interface DeadLetter {
  originalTopic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  failedStage: string;
  errorCode: string;
  errorMessage: string;
  time: number;
  /**
   * Parts left out or cut short so the letter fits the broker's record limit, with their original
   * size in bytes; the whole record is still at originalTopic / partition / offset.
   */
  omitted?: Record<string, number>;
}

export interface ShipperCheckpoint {
  shipper: string;
  fileId: string;
  path: string;
  offset: number;
  time: number;
}

export interface PipelineState {
  pipeline: string;
  topic: string;
  partition: number;
  lastOffset: number;
  steps: string;
  time: number;
}

export interface NotificationLogEntry {
  receiver: string;
  groupKey: string;
  firing: string[];
  resolved: string[];
  at: number;
}

export interface Silence {
  id: string;
  /** Label matchers, e.g. {alertname="GpuHot", host=~"gpu-.*"}. */
  matchers: string;
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  updatedAt: number;
}

export interface Acknowledgement {
  fingerprint: string;
  by: string;
  comment: string;
  at: number;
  /** Taken back: the alert repeats and escalates again. */
  withdrawn?: boolean;
}

export interface RemediationDecision {
  at: number;
  /** acted, dry_run, waiting, cancelled, released, refused */
  decision: string;
  reason: string;
}

/** A target in remediation for an alert, or waiting for the fleet budget (remediation.v1.avsc). */
export interface RemediationLease {
  budget: string;
  target: string;
  fingerprint: string;
  alertname: string;
  receiver: string;
  state: "waiting" | "active" | "released";
  since: number;
  actedAt: number;
  releasedAt: number;
  dryRun: boolean;
  payload: string;
  decisions: RemediationDecision[];
}

/** Subject name → the TypeScript shape of its latest version. */
export interface Subjects {
  "metric-batch": MetricBatch;
  "log-batch": LogBatch;
  alert: Alert;
  "dead-letter": DeadLetter;
  "shipper-checkpoint": ShipperCheckpoint;
  "pipeline-state": PipelineState;
  "notification-log": NotificationLogEntry;
  silence: Silence;
  ack: Acknowledgement;
  remediation: RemediationLease;
}
export type Subject = keyof Subjects;

// The topic catalogue: every Kafka topic Vigil uses, declared once — its schema, what its key is
// (and so which ordering it guarantees), partitions, retention and cleanup policy.
// `npm run vigil -- topics apply` creates or updates them to match.
//
// Not listed: each stateful stage's changelog, `<consumer group>-changelog` (compacted, one
// partition per input partition: task p's state is on partition p), which the stage creates when
// it starts, as Kafka Streams creates its internal topics — `vigil-pipeline-<name>-changelog`,
// `vigil-pipeline-<name>-repartition-changelog` (when steps before the grouping keep state) and
// `vigil-detector-<name>-changelog`.
import type { Subject } from "./types.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface TopicSpec {
  name: string;
  subject: Subject;
  /** What the record key is; records with the same key stay in order. */
  key: string;
  partitions: number;
  /** How long records are kept (ms); -1 keeps them forever (compacted state). */
  retentionMs: number;
  cleanupPolicy: "delete" | "compact";
  /** Largest record batch the topic takes, when above the broker's default (state snapshots). */
  maxMessageBytes?: number;
  description: string;
}

export const TOPICS = {
  metricsRaw: {
    name: "telemetry.metrics.raw",
    subject: "metric-batch",
    key: "source (host or scrape target): one source's batches stay in order",
    partitions: 6,
    retentionMs: DAY,
    cleanupPolicy: "delete",
    description: "Metric batches as producers publish them.",
  },
  metricsClean: {
    name: "telemetry.metrics.clean",
    subject: "metric-batch",
    key: "source: as on the raw topic",
    partitions: 6,
    retentionMs: 3 * DAY,
    cleanupPolicy: "delete",
    description:
      "Validated, normalised, relabelled samples; what the InfluxDB sink and detectors read.",
  },
  metricsRepartition: {
    name: "telemetry.metrics.repartition",
    subject: "metric-batch",
    key: "aggregation group (metric + groupBy labels): a group's samples meet on one partition",
    partitions: 6,
    retentionMs: DAY,
    cleanupPolicy: "delete",
    description:
      "Samples re-keyed by group before a grouping pipeline's state (window-aggregate with groupBy), as Kafka Streams repartitions on groupBy.",
  },
  metricsPeersRepartition: {
    name: "telemetry.metrics.peers.repartition",
    subject: "metric-batch",
    key: "peer group (metric + groupBy labels, e.g. a Slurm job): a group's members meet on one partition",
    partitions: 6,
    retentionMs: DAY,
    cleanupPolicy: "delete",
    description:
      "GPU samples re-keyed by peer group before the peer-group pipeline's state (each GPU of a job against the job).",
  },
  metricsAggregated: {
    name: "telemetry.metrics.aggregated",
    subject: "metric-batch",
    key: "series labels (group labels + window): every window of a series stays on one partition, in order",
    partitions: 6,
    retentionMs: 7 * DAY,
    cleanupPolicy: "delete",
    description: "Windowed aggregates (count, sum, percentiles…).",
  },
  metricsLate: {
    name: "telemetry.metrics.late",
    subject: "metric-batch",
    key: "source",
    partitions: 3,
    retentionMs: 7 * DAY,
    cleanupPolicy: "delete",
    description: "Samples that arrived after their window closed; counted and kept, never dropped.",
  },
  logsRaw: {
    name: "telemetry.logs.raw",
    subject: "log-batch",
    key: "source (host/service): one source's log lines stay in order",
    partitions: 6,
    retentionMs: 3 * DAY,
    cleanupPolicy: "delete",
    description: "Log batches as shippers publish them.",
  },
  logsClean: {
    name: "telemetry.logs.clean",
    subject: "log-batch",
    key: "source",
    partitions: 6,
    retentionMs: 3 * DAY,
    cleanupPolicy: "delete",
    description: "Parsed and validated log events; what the Elasticsearch sink reads.",
  },
  alerts: {
    name: "telemetry.alerts",
    subject: "alert",
    key: "alert fingerprint: one alert's transitions stay in order",
    partitions: 3,
    retentionMs: 30 * DAY,
    cleanupPolicy: "delete",
    description: "Alert state changes and periodic re-sends; what the notifier reads.",
  },
  alertsState: {
    name: "telemetry.alerts.state",
    subject: "alert",
    key: "alert fingerprint: the latest record per fingerprint is the alert's state",
    partitions: 3,
    retentionMs: -1,
    cleanupPolicy: "compact",
    description:
      "Latest event of every alert (re-sends aside), compacted: where a consumer that starts late learns what fires.",
  },
  shipperCheckpoints: {
    name: "telemetry.shipper.checkpoints",
    subject: "shipper-checkpoint",
    key: "shipper id + file identity: the latest record per key is how far that file was shipped",
    partitions: 1,
    retentionMs: -1,
    cleanupPolicy: "compact",
    description:
      "Log shippers' file offsets, written in the same transaction as the lines they cover.",
  },
  notificationLog: {
    name: "telemetry.notifier.log",
    subject: "notification-log",
    key: "receiver + alert group: the latest record per key is what that receiver was last told",
    partitions: 1,
    retentionMs: -1,
    cleanupPolicy: "compact",
    description:
      "The notifier's notification log: restarted or standby notifiers read it so they do not page again.",
  },
  silences: {
    name: "telemetry.notifier.silences",
    subject: "silence",
    key: "silence id: the latest record per id is the silence",
    partitions: 1,
    retentionMs: -1,
    cleanupPolicy: "compact",
    description: "Silences created, updated and expired through the notifier's API and the CLI.",
  },
  remediation: {
    name: "telemetry.remediation",
    subject: "remediation",
    key: "<target>|<alert fingerprint>: the latest state of one remediation",
    partitions: 1,
    retentionMs: -1,
    cleanupPolicy: "compact",
    description:
      "The fleet remediation budget: which targets are in remediation or waiting, and every decision taken, compacted.",
  },
  acks: {
    name: "telemetry.alerts.acks",
    subject: "ack",
    key: "alert fingerprint",
    partitions: 1,
    retentionMs: -1,
    cleanupPolicy: "compact",
    description:
      "Acknowledgements of alerts: an acknowledged alert stops escalating and repeating.",
  },
  deadLetter: {
    name: "telemetry.deadletter",
    subject: "dead-letter",
    key: "the original record's key",
    partitions: 3,
    retentionMs: 14 * DAY,
    cleanupPolicy: "delete",
    description: "Records that could not be processed, whole, with the stage and reason.",
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS]["name"];

export const ALL_TOPICS: readonly TopicSpec[] = Object.values(TOPICS);

/** The topic configs Vigil manages for a topic; others are left as the broker sets them. */
export function topicConfig(spec: TopicSpec): Record<string, string> {
  return {
    "cleanup.policy": spec.cleanupPolicy,
    "retention.ms": String(spec.retentionMs),
    ...(spec.maxMessageBytes !== undefined && {
      "max.message.bytes": String(spec.maxMessageBytes),
    }),
  };
}

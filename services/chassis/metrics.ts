// The self-metrics every Vigil service exposes on /metrics, declared once. Nothing is dropped
// without a counter: every dead letter and every skipped commit has a labelled series.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type ServiceMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "vigil_process_" });
  const registers = [registry];
  return {
    registry,
    recordsIn: new Counter({
      name: "vigil_records_in_total",
      help: "Kafka records consumed, by topic.",
      labelNames: ["topic"],
      registers,
    }),
    recordsOut: new Counter({
      name: "vigil_records_out_total",
      help: "Kafka records produced and acknowledged (acks=all), by topic.",
      labelNames: ["topic"],
      registers,
    }),
    dropped: new Counter({
      name: "vigil_records_dropped_total",
      help: "Records not passed on, by reason (dead-lettered ones included).",
      labelNames: ["reason"],
      registers,
    }),
    flattenedAttributes: new Counter({
      name: "vigil_attributes_flattened_total",
      help: "Log attributes kept in attributes_extra, beyond the index's field budget, by index.",
      labelNames: ["index"],
      registers,
    }),
    deadLetters: new Counter({
      name: "vigil_dead_letters_total",
      help: "Records sent to the dead-letter topic, by error code.",
      labelNames: ["code"],
      registers,
    }),
    batchSize: new Histogram({
      name: "vigil_batch_records",
      help: "Records per consumed batch.",
      buckets: [1, 10, 50, 100, 500, 1000, 5000],
      registers,
    }),
    processing: new Histogram({
      name: "vigil_batch_processing_seconds",
      help: "From a batch's arrival to its offsets being committed.",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
    notifications: new Counter({
      name: "vigil_notifications_total",
      help: "Notification attempts by receiver and result: sent, failed, retried, rate_limited, dead_lettered.",
      labelNames: ["receiver", "result"],
      registers,
    }),
    notificationSeconds: new Histogram({
      name: "vigil_notification_seconds",
      help: "Time a successful delivery attempt took, by receiver.",
      labelNames: ["receiver"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    alertEvents: new Counter({
      name: "vigil_alert_events_total",
      help: "Alert events published, by rule and status (firing, resolved, resend).",
      labelNames: ["rule", "status"],
      registers,
    }),
    alertTracks: new Gauge({
      name: "vigil_detector_tracks",
      help: "Rule × series tracks the detector holds, by input partition.",
      labelNames: ["topic", "partition"],
      registers,
    }),
    edgeBuffered: new Gauge({
      name: "vigil_edge_buffer_records",
      help: "Records kept in the on-disk edge buffer, waiting for Kafka.",
      registers,
    }),
    lag: new Gauge({
      name: "vigil_consumer_lag_records",
      help: "Records behind the partition's high watermark after the last processed batch.",
      labelNames: ["topic", "partition"],
      registers,
    }),
    commits: new Counter({
      name: "vigil_commits_total",
      help: "Offset commits, by result: committed, skipped_revoked (known revoked), rejected_not_owner (fenced by the broker), failed.",
      labelNames: ["result"],
      registers,
    }),
    retries: new Counter({
      name: "vigil_retries_total",
      help: "Retries of a failing stage (handler or produce).",
      labelNames: ["stage"],
      registers,
    }),
    sinkWritten: new Counter({
      name: "vigil_sink_written_total",
      help: "Points or documents a store acknowledged, by store.",
      labelNames: ["store"],
      registers,
    }),
    sinkRejected: new Counter({
      name: "vigil_sink_rejected_total",
      help: "Points or documents a store refused for good (sent to the dead-letter topic), by store.",
      labelNames: ["store"],
      registers,
    }),
    sinkRequests: new Histogram({
      name: "vigil_sink_request_seconds",
      help: "Write requests to a store, by store and outcome (ok, rejected, retry).",
      labelNames: ["store", "outcome"],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    processorSamples: new Counter({
      name: "vigil_processor_samples_total",
      help: "Samples through each pipeline processor, by pipeline, processor and direction (in, out, rejected).",
      labelNames: ["pipeline", "processor", "direction"],
      registers,
    }),
    transactions: new Counter({
      name: "vigil_transactions_total",
      help: "Kafka transactions of stateful stages and transactional producers, by result (committed, aborted).",
      labelNames: ["result"],
      registers,
    }),
    stateRestores: new Histogram({
      name: "vigil_state_restore_seconds",
      help: "Time to restore one task's state from its changelog partition.",
      buckets: [0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    stateKeys: new Gauge({
      name: "vigil_state_keys",
      help: "Keys in a task's state stores, by stage and partition.",
      labelNames: ["stage", "partition"],
      registers,
    }),
    changelogRecords: new Counter({
      name: "vigil_changelog_records_total",
      help: "Changelog records written (changed keys and tombstones), by stage.",
      labelNames: ["stage"],
      registers,
    }),
    changelogBytes: new Counter({
      name: "vigil_changelog_bytes_total",
      help: "Bytes of changelog record keys and values written (before compression), by stage.",
      labelNames: ["stage"],
      registers,
    }),
    inFlight: new Gauge({
      name: "vigil_batches_in_flight",
      help: "Batches being processed now.",
      registers,
    }),
  };
}

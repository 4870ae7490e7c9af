// The whole pipeline as processes: which services, with which configuration, wired to which
// topics. `npm start` runs it against the local stack with the catalogue's topics; the end-to-end
// test runs it with topics and names of its own.
//
//   host/GPU agents, scrape, log shipper ─► metrics.raw / logs.raw
//   pipelines (normalize, validate; p99 windows) ─► metrics.clean / metrics.aggregated
//   log pipeline ─► logs.clean
//   detector (rules) ─► alerts ─► notifier ─► receivers
//   InfluxDB sink ◄─ metrics.clean/aggregated      Elasticsearch sink ◄─ logs.clean, alerts
import { TOPICS } from "../../schemas/topics.js";
import { SERVICES, type ServiceName } from "../registry.js";
import type { ServiceSpec } from "./supervisor.js";

export type TopicNames = { [K in keyof typeof TOPICS]: string };

export const CATALOGUE_TOPICS: TopicNames = Object.fromEntries(
  Object.entries(TOPICS).map(([k, t]) => [k, t.name]),
) as TopicNames;

export interface TopologyOptions {
  brokers: string[];
  influx: { url: string; bucket: string };
  elasticsearch: { url: string; logIndex?: string; alertIndex?: string };
  topics: TopicNames;
  /** Makes consumer groups, transactional ids and state keys unique to this run. */
  instance: string;
  /** HTTP port of the first service, the others following; 0 for any free port. */
  basePort: number;
  logLevel: "info" | "warn";
  hostAgent?: { interval: string };
  gpuAgent?: {
    nvidiaSmi: string;
    host: string;
    interval: string;
    env?: Record<string, string>;
    /** More of the agent's settings (procRoot, expectedGpus, attribution). */
    agent?: object;
    /** Read the kernel log (kmsg or journalExport), shipped to this run's raw log topic. */
    kernelLog?: object;
  };
  /** The GPU peer-group pipeline's window and warm-up (default 1m and 2 windows). */
  peerGroups?: { window?: string; allowedLateness?: string; warmup?: number; idleTimeout?: string };
  logShipper?: { paths: string[]; host: string; service: string };
  /** Run the scrape producer on every service's own /metrics (needs fixed ports: basePort > 0). */
  scrapeSelf?: boolean;
  rules: string[];
  detector?: { tick?: string; resendEvery?: string };
  alerting: object;
  notifierEnv?: Record<string, string>;
  /** Processing-time tick of the pipelines and the idle timeout of their windows. */
  pipelineTick?: string;
}

export function topology(o: TopologyOptions): ServiceSpec[] {
  const t = o.topics;
  let port = o.basePort;
  const base = (name: string) => ({
    service: name,
    kafka: { brokers: o.brokers },
    http: { port: o.basePort === 0 ? 0 : port++ },
    log: { level: o.logLevel },
    topics: { deadLetter: t.deadLetter },
  });
  const group = (name: string) => `vigil-${name}-${o.instance}`;
  const specs: ServiceSpec[] = [];
  const add = (name: ServiceName, config: object, env?: Record<string, string>) =>
    specs.push({
      name,
      script: SERVICES[name],
      config: { ...base(name), ...config },
      ...(env && { env }),
    });

  // Consumers first, so nothing produced is waiting for them longer than it must.
  add("influxdb-sink", {
    consumer: { groupId: group("influxdb-sink"), topics: [t.metricsClean, t.metricsAggregated] },
    influx: { url: o.influx.url, bucket: o.influx.bucket },
  });
  add("elasticsearch-sink", {
    consumer: { groupId: group("elasticsearch-sink"), topics: [t.logsClean, t.alerts] },
    alertTopics: [t.alerts],
    elasticsearch: {
      url: o.elasticsearch.url,
      ...(o.elasticsearch.logIndex && { logIndex: o.elasticsearch.logIndex }),
      ...(o.elasticsearch.alertIndex && { alertIndex: o.elasticsearch.alertIndex }),
    },
  });
  add(
    "notifier",
    {
      notifier: {
        name: o.instance,
        alerts: t.alerts,
        alertsState: t.alertsState,
        log: t.notificationLog,
        silences: t.silences,
        acks: t.acks,
        remediation: t.remediation,
        tick: "500ms",
        // Links in notifications open this notifier's console.
        ...(o.basePort !== 0 && { externalUrl: `http://127.0.0.1:${port}` }),
      },
      alerting: o.alerting,
    },
    o.notifierEnv,
  );
  add("detector", {
    detector: {
      name: o.instance,
      inputs: [t.metricsClean, t.metricsAggregated],
      logInputs: [t.logsClean],
      output: t.alerts,
      state: t.alertsState,
      rules: o.rules,
      ...o.detector,
    },
  });
  add("log-pipeline", {
    consumer: { groupId: group("log-pipeline"), topics: [t.logsRaw] },
    output: t.logsClean,
  });
  const tick = o.pipelineTick ?? "1s";
  /** A pipeline over clean samples that re-keys them by group for one grouping processor. */
  const grouping = (name: string, repartition: string, processor: object) => ({
    name: `${name}-${o.instance}`,
    inputs: [t.metricsClean],
    output: t.metricsAggregated,
    late: t.metricsLate,
    repartition,
    outputKey: "series",
    tick,
    processors: [processor],
  });
  add("pipelines", {
    pipelines: [
      {
        name: `clean-${o.instance}`,
        inputs: [t.metricsRaw],
        output: t.metricsClean,
        late: t.metricsLate,
        stateful: false,
        tick,
        processors: [{ normalize: {} }, { validate: {} }],
      },
      grouping("latency-p99", t.metricsRepartition, {
        "window-aggregate": {
          metrics: ["http_request_duration_seconds", "db_query_duration_seconds"],
          groupBy: ["service"],
          size: "5m",
          advance: "1m",
          allowedLateness: "30s",
          aggregates: ["count", "p50", "p99"],
        },
      }),
      // Each GPU of a Slurm job against the job's other GPUs: the straggler without a threshold.
      grouping("gpu-peers", t.metricsPeersRepartition, {
        "peer-group": {
          metrics: ["gpu_sm_clock_hertz", "gpu_utilization_percent", "gpu_power_draw_watts"],
          groupBy: ["slurm_job"],
          window: o.peerGroups?.window ?? "1m",
          // GPU agents report every 10 s by default, hosts at slightly different moments.
          allowedLateness: o.peerGroups?.allowedLateness ?? "15s",
          warmup: o.peerGroups?.warmup ?? 2,
          idleTimeout: o.peerGroups?.idleTimeout ?? "30s",
        },
      }),
    ],
  });
  if (o.hostAgent)
    add("host-agent", {
      agent: { interval: o.hostAgent.interval, topic: t.metricsRaw },
    });
  if (o.gpuAgent)
    add(
      "gpu-agent",
      {
        agent: {
          interval: o.gpuAgent.interval,
          host: o.gpuAgent.host,
          nvidiaSmi: o.gpuAgent.nvidiaSmi,
          topic: t.metricsRaw,
          ...o.gpuAgent.agent,
          ...(o.gpuAgent.kernelLog && {
            kernelLog: { topic: t.logsRaw, ...o.gpuAgent.kernelLog },
          }),
        },
      },
      o.gpuAgent.env,
    );
  if (o.logShipper)
    add("log-shipper", {
      shipper: {
        id: `shipper-${o.instance}`,
        paths: o.logShipper.paths,
        host: o.logShipper.host,
        service: o.logShipper.service,
        topic: t.logsRaw,
        checkpointTopic: t.shipperCheckpoints,
        multiline: { continuation: "^\\s" },
      },
    });
  if (o.scrapeSelf && o.basePort > 0) {
    // Its own port is the next one: it scrapes itself too.
    const targets = Array.from(
      { length: specs.length + 1 },
      (_, i) => `127.0.0.1:${o.basePort + i}`,
    );
    add("prometheus-scrape", {
      scrape: {
        jobs: [{ name: "vigil", interval: "10s", timeout: "5s", targets }],
        topic: t.metricsRaw,
      },
    });
  }
  return specs;
}

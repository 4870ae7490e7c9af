// Every Vigil service, by the name deployments use for it: `vigil-service <name>` in the
// container image, the compose services and the Kubernetes manifests all start them by these
// names. A new service is a line here (and a test checks the deploy files name only these).
export const SERVICES = {
  "host-agent": "services/host-agent/main.ts",
  "gpu-agent": "services/gpu-agent/main.ts",
  "prometheus-scrape": "services/prometheus-scrape/main.ts",
  "log-shipper": "services/log-shipper/main.ts",
  "http-ingest": "services/http-ingest/main.ts",
  pipelines: "pipelines/service.ts",
  "log-pipeline": "services/log-pipeline/main.ts",
  detector: "services/detector/main.ts",
  "influxdb-sink": "services/influxdb-sink/main.ts",
  "elasticsearch-sink": "services/elasticsearch-sink/main.ts",
  notifier: "services/notifier/main.ts",
} as const;

export type ServiceName = keyof typeof SERVICES;

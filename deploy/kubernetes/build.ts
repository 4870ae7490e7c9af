// Writes the Kubernetes base (deploy/kubernetes/base/*.yaml) from the service list below:
// `npx tsx deploy/kubernetes/build.ts`. One Deployment (probes, resources, non-root, read-only
// root) and PodDisruptionBudget per consuming service, DaemonSets for the host and GPU agents,
// configuration from the vigil-config ConfigMap and secrets from vigil-secrets.
// test/unit/deploy/kubernetes.test.ts validates the output against the Kubernetes schemas.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { ServiceName } from "../../services/registry.js";

interface Workload {
  service: ServiceName;
  kind: "Deployment" | "DaemonSet";
  replicas?: number;
  /** Has a file in the ConfigMap: mounted and named by VIGIL_CONFIG. */
  config?: boolean;
  /** Environment variables from vigil-secrets, each under its own name (deploy/secrets.ts). */
  secrets?: string[];
  resources: { cpu: string; memory: string; limit: string };
  extra?: (pod: Record<string, unknown>, container: Record<string, unknown>) => void;
}

export const WORKLOADS: Workload[] = [
  {
    service: "pipelines",
    kind: "Deployment",
    replicas: 2,
    config: true,
    resources: { cpu: "250m", memory: "384Mi", limit: "768Mi" },
  },
  {
    service: "log-pipeline",
    kind: "Deployment",
    replicas: 2,
    resources: { cpu: "100m", memory: "192Mi", limit: "384Mi" },
  },
  {
    service: "detector",
    kind: "Deployment",
    replicas: 2,
    resources: { cpu: "250m", memory: "512Mi", limit: "1Gi" },
  },
  {
    service: "influxdb-sink",
    kind: "Deployment",
    replicas: 2,
    config: true,
    secrets: ["INFLUX_TOKEN"],
    resources: { cpu: "200m", memory: "256Mi", limit: "512Mi" },
  },
  {
    service: "elasticsearch-sink",
    kind: "Deployment",
    replicas: 2,
    config: true,
    resources: { cpu: "200m", memory: "256Mi", limit: "512Mi" },
  },
  {
    service: "notifier",
    kind: "Deployment",
    replicas: 2, // one active, one standing by
    config: true,
    secrets: ["VIGIL_API_TOKEN", "SLACK_WEBHOOK_URL", "PAGERDUTY_ROUTING_KEY"],
    resources: { cpu: "100m", memory: "192Mi", limit: "384Mi" },
  },
  {
    service: "prometheus-scrape",
    kind: "Deployment",
    replicas: 1,
    config: true,
    resources: { cpu: "100m", memory: "192Mi", limit: "384Mi" },
  },
  {
    service: "http-ingest",
    kind: "Deployment",
    replicas: 2,
    config: true,
    secrets: ["VIGIL_INGEST_TOKEN"],
    resources: { cpu: "200m", memory: "256Mi", limit: "512Mi" },
    extra: (_pod, container) => {
      container.ports = [...(container.ports as object[]), { name: "ingest", containerPort: 8186 }];
    },
  },
  {
    service: "host-agent",
    kind: "DaemonSet",
    resources: { cpu: "50m", memory: "96Mi", limit: "192Mi" },
    extra: (pod, container) => {
      pod.hostPID = true;
      pod.volumes = [
        ...(pod.volumes as object[]),
        { name: "proc", hostPath: { path: "/proc" } },
        { name: "sys", hostPath: { path: "/sys" } },
      ];
      container.volumeMounts = [
        ...(container.volumeMounts as object[]),
        { name: "proc", mountPath: "/host/proc", readOnly: true },
        { name: "sys", mountPath: "/host/sys", readOnly: true },
      ];
      container.env = [
        ...(container.env as object[]),
        { name: "VIGIL__AGENT__PROC_ROOT", value: "/host/proc" },
        { name: "VIGIL__AGENT__SYS_ROOT", value: "/host/sys" },
        { name: "VIGIL__AGENT__HOST", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
      ];
    },
  },
  {
    service: "gpu-agent",
    kind: "DaemonSet",
    resources: { cpu: "50m", memory: "96Mi", limit: "192Mi" },
    extra: (pod, container) => {
      pod.nodeSelector = { "nvidia.com/gpu.present": "true" };
      pod.tolerations = [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }];
      pod.runtimeClassName = "nvidia";
      container.env = [
        ...(container.env as object[]),
        { name: "NVIDIA_VISIBLE_DEVICES", value: "all" },
        { name: "VIGIL__AGENT__HOST", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        // Whose job owns each GPU: the host's /proc (cgroups of the GPU processes) and the
        // kubelet's pod-resources socket (pod, namespace, container by device id).
        { name: "VIGIL__AGENT__PROC_ROOT", value: "/host/proc" },
        {
          name: "VIGIL__AGENT__POD_RESOURCES__SOCKET",
          value: "/var/lib/kubelet/pod-resources/kubelet.sock",
        },
      ];
      container.volumeMounts = [
        ...((container.volumeMounts as object[] | undefined) ?? []),
        { name: "host-proc", mountPath: "/host/proc", readOnly: true },
        { name: "pod-resources", mountPath: "/var/lib/kubelet/pod-resources", readOnly: true },
      ];
      pod.volumes = [
        ...((pod.volumes as object[] | undefined) ?? []),
        { name: "host-proc", hostPath: { path: "/proc", type: "Directory" } },
        {
          name: "pod-resources",
          hostPath: { path: "/var/lib/kubelet/pod-resources", type: "DirectoryOrCreate" },
        },
      ];
    },
  },
];

const labels = (service: string) => ({
  "app.kubernetes.io/name": "vigil",
  "app.kubernetes.io/component": service,
});

/**
 * Ingress to Vigil's pods is denied unless allowed here: HTTP ingest's port from anywhere (its
 * token guards it), the notifier API from pods labelled vigil.dev/notifier-client=true (its token
 * too), and /metrics from the namespace labelled vigil.dev/scrape=true (your Prometheus).
 */
export function networkPolicies(): object[] {
  const policy = (name: string, spec: object) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, labels: { "app.kubernetes.io/name": "vigil" } },
    spec,
  });
  const component = (c: string) => ({ matchLabels: labels(c) });
  return [
    policy("vigil-default-deny-ingress", {
      podSelector: { matchLabels: { "app.kubernetes.io/name": "vigil" } },
      policyTypes: ["Ingress"],
    }),
    policy("vigil-metrics-from-monitoring", {
      podSelector: { matchLabels: { "app.kubernetes.io/name": "vigil" } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "vigil.dev/scrape": "true" } } }],
          ports: [{ port: "http", protocol: "TCP" }],
        },
      ],
    }),
    policy("vigil-http-ingest", {
      podSelector: component("http-ingest"),
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ port: "ingest", protocol: "TCP" }] }],
    }),
    policy("vigil-notifier-api", {
      podSelector: component("notifier"),
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { "vigil.dev/notifier-client": "true" } } }],
          ports: [{ port: "http", protocol: "TCP" }],
        },
      ],
    }),
  ];
}

export function manifests(w: Workload): object[] {
  const container: Record<string, unknown> = {
    name: w.service,
    image: "vigil:latest",
    args: [w.service],
    ports: [{ name: "http", containerPort: 9464 }],
    envFrom: [{ configMapRef: { name: "vigil-env" } }],
    env: [
      ...(w.config ? [{ name: "VIGIL_CONFIG", value: `/config/${w.service}.yaml` }] : []),
      ...(w.secrets ?? []).map((name) => ({
        name,
        valueFrom: { secretKeyRef: { name: "vigil-secrets", key: name } },
      })),
    ],
    readinessProbe: {
      httpGet: { path: "/readyz", port: "http" },
      periodSeconds: 10,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: "http" },
      initialDelaySeconds: 30,
      periodSeconds: 20,
    },
    resources: {
      requests: { cpu: w.resources.cpu, memory: w.resources.memory },
      limits: { memory: w.resources.limit },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: [
      { name: "tmp", mountPath: "/tmp" },
      ...(w.config ? [{ name: "config", mountPath: "/config", readOnly: true }] : []),
    ],
  };
  const pod: Record<string, unknown> = {
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    },
    terminationGracePeriodSeconds: 45, // the services drain within 30 s of SIGTERM
    containers: [container],
    volumes: [
      { name: "tmp", emptyDir: {} },
      ...(w.config ? [{ name: "config", configMap: { name: "vigil-config" } }] : []),
    ],
  };
  w.extra?.(pod, container);
  const name = `vigil-${w.service}`;
  const metadata = { name, labels: labels(w.service) };
  const template = { metadata: { labels: labels(w.service) }, spec: pod };
  if (w.kind === "DaemonSet")
    return [
      {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata,
        spec: { selector: { matchLabels: labels(w.service) }, template },
      },
    ];
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata,
      spec: { replicas: w.replicas ?? 1, selector: { matchLabels: labels(w.service) }, template },
    },
    {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata,
      spec: { maxUnavailable: 1, selector: { matchLabels: labels(w.service) } },
    },
  ];
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const base = join(import.meta.dirname, "base");
  const configs = WORKLOADS.filter((w) => w.config).map((w) => w.service);
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "vigil-config", labels: { "app.kubernetes.io/name": "vigil" } },
    data: Object.fromEntries(
      configs.map((c) => [
        `${c}.yaml`,
        readFileSync(join(import.meta.dirname, "config", `${c}.yaml`), "utf8"),
      ]),
    ),
  };
  const files: string[] = ["config.yaml"];
  writeFileSync(join(base, "config.yaml"), stringify(configMap));
  for (const w of WORKLOADS) {
    const file = `${w.service}.yaml`;
    files.push(file);
    writeFileSync(
      join(base, file),
      manifests(w)
        .map((m) => stringify(m))
        .join("---\n"),
    );
  }
  writeFileSync(
    join(base, "network-policies.yaml"),
    networkPolicies()
      .map((p) => stringify(p))
      .join("---\n"),
  );
  writeFileSync(
    join(base, "kustomization.yaml"),
    stringify({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      labels: [{ pairs: { "app.kubernetes.io/part-of": "vigil" } }],
      resources: ["env.yaml", "services.yaml", "network-policies.yaml", ...files],
      // No placeholder secret ships: `npx tsx deploy/secrets.ts kubernetes` writes secrets.env
      // (git-ignored) with generated tokens, and the build fails until it exists.
      secretGenerator: [{ name: "vigil-secrets", envs: ["secrets.env"] }],
      generatorOptions: { disableNameSuffixHash: true },
    }),
  );
  console.log(`wrote ${files.length} files in ${base}`);
}

// The Kubernetes manifests against the Kubernetes API schemas (kubernetes-models validates each
// object with the OpenAPI schema of its kind) — there is no cluster here — and against Vigil:
// services that exist, probes on the served port, a PodDisruptionBudget per Deployment,
// configuration that loads with each service's schema, an overlay that refers to what is there.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DaemonSet, Deployment } from "kubernetes-models/apps/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { SERVICES } from "../../../services/registry.js";
import { DEPLOY_CONFIG_SCHEMAS, loadsWith } from "../../support/deploy.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

const BASE = "deploy/kubernetes/base";
const OVERLAY = "deploy/kubernetes/overlays/production";
const KINDS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "apps/v1/DaemonSet": DaemonSet,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/Namespace": Namespace,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

const kustomization = (dir: string) =>
  parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as {
    resources: string[];
    patches?: { path: string }[];
    replicas?: { name: string }[];
  };
const objects = (dir: string, files: string[]): K8sObject[] =>
  files
    .filter((f) => f.endsWith(".yaml") && !f.startsWith("."))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), "utf8")).map((d) => d.toJS() as K8sObject),
    );
const base = objects(BASE, kustomization(BASE).resources);
const ofKind = (kind: string) => base.filter((o) => o.kind === kind);

type Pod = {
  securityContext?: { runAsNonRoot?: boolean };
  containers: {
    args: string[];
    ports: { name: string; containerPort: number }[];
    readinessProbe?: { httpGet: { path: string; port: string } };
    livenessProbe?: { httpGet: { path: string; port: string } };
    resources?: { requests?: object; limits?: object };
  }[];
};
const podOf = (o: K8sObject) => (o.spec!.template as { spec: Pod }).spec;

describe("the Kubernetes manifests", () => {
  it("are valid against the Kubernetes API schema of their kind", () => {
    expect(base.length).toBeGreaterThan(20);
    for (const o of base) {
      const Kind = KINDS[`${o.apiVersion}/${o.kind}`];
      expect(Kind, `${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new Kind!(o as never).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
  });

  it("would be refused by the same check with a wrongly typed field", () => {
    const broken = structuredClone(ofKind("Deployment")[0]!);
    broken.spec!.replicas = "two";
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/);
  });

  it("run a Deployment with probes, resources and a PodDisruptionBudget per service, and DaemonSets for the agents", () => {
    const budgets = ofKind("PodDisruptionBudget");
    for (const d of ofKind("Deployment")) {
      const pod = podOf(d);
      const [container] = pod.containers;
      expect(pod.securityContext?.runAsNonRoot, d.metadata.name).toBe(true);
      expect(container!.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
      expect(container!.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(container!.ports.some((p) => p.name === "http" && p.containerPort === 9464)).toBe(
        true,
      );
      expect(
        container!.resources?.requests && container!.resources.limits,
        d.metadata.name,
      ).toBeTruthy();
      const selector = (d.spec!.selector as { matchLabels: Record<string, string> }).matchLabels;
      expect(
        budgets.some(
          (b) =>
            JSON.stringify((b.spec!.selector as { matchLabels: object }).matchLabels) ===
            JSON.stringify(selector),
        ),
        `PodDisruptionBudget for ${d.metadata.name}`,
      ).toBe(true);
    }
    expect(
      ofKind("DaemonSet")
        .map((d) => podOf(d).containers[0]!.args[0])
        .sort(),
    ).toEqual(["gpu-agent", "host-agent"]);
    const started = [...ofKind("Deployment"), ...ofKind("DaemonSet")].map(
      (d) => podOf(d).containers[0]!.args[0]!,
    );
    for (const name of started) expect(SERVICES).toHaveProperty(name);
  });

  it("carry configuration that loads with each service's schema", () => {
    const [config] = ofKind("ConfigMap").filter((c) => c.metadata.name === "vigil-config");
    const dir = mkdtempSync(join(tmpdir(), "vigil-k8s-"));
    for (const [file, text] of Object.entries(config!.data!)) {
      const service = file.replace(/\.yaml$/, "");
      expect(DEPLOY_CONFIG_SCHEMAS, service).toHaveProperty(service);
      writeFileSync(join(dir, file), text);
      expect(() => loadsWith(service, join(dir, file)), file).not.toThrow();
    }
    // …and are what build.ts writes from deploy/kubernetes/config.
    for (const file of readdirSync("deploy/kubernetes/config"))
      expect(config!.data![file], file).toBe(
        readFileSync(join("deploy/kubernetes/config", file), "utf8"),
      );
  });

  it("have an overlay that refers to resources, patches and workloads that exist", () => {
    const overlay = kustomization(OVERLAY);
    for (const r of overlay.resources) expect(existsSync(join(OVERLAY, r)), r).toBe(true);
    for (const p of overlay.patches ?? []) {
      const [patch] = objects(OVERLAY, [p.path]);
      expect(
        base.some((o) => o.kind === patch!.kind && o.metadata.name === patch!.metadata.name),
        p.path,
      ).toBe(true);
    }
    for (const r of overlay.replicas ?? [])
      expect(ofKind("Deployment").map((d) => d.metadata.name)).toContain(r.name);
    for (const o of objects(OVERLAY, ["namespace.yaml"]))
      expect(() => new Namespace(o as never).validate()).not.toThrow();
  });
});

// Recipe: cordon the alert's node and taint it vigil.dev/gpu-fault=<alertname>:NoSchedule, through
// the Kubernetes API (GET the node, PATCH spec.unschedulable and the taints with the rest kept).
//   action: { command: [npx, tsx, deploy/remediation/cordon-node.ts, --apply], allow: [npx], … }
// Without --apply it prints the PATCH it would send.
import { kubeApi, nodeOf, readNotification } from "./kube.js";

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

const n = await readNotification();
const node = nodeOf(n);
const call = kubeApi();
const current = await call<{ spec?: { taints?: Taint[] } }>("GET", `/api/v1/nodes/${node}`);
const taints = (current.spec?.taints ?? []).filter((t) => t.key !== "vigil.dev/gpu-fault");
taints.push({
  key: "vigil.dev/gpu-fault",
  value: n.alerts[0]?.rule ?? "alert",
  effect: "NoSchedule",
});
await call(
  "PATCH",
  `/api/v1/nodes/${node}`,
  { spec: { unschedulable: true, taints } },
  "application/merge-patch+json",
);

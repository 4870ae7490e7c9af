// Recipe: drain the alert's node — evict every pod on it through the Eviction API (so
// PodDisruptionBudgets are honoured), leaving DaemonSet pods and static (mirror) pods, as
// `kubectl drain --ignore-daemonsets` does. Cordon first (cordon-node.ts). Dry run unless --apply.
import { kubeApi, nodeOf, readNotification } from "./kube.js";

interface Pod {
  metadata: {
    name: string;
    namespace: string;
    ownerReferences?: { kind: string }[];
    annotations?: Record<string, string>;
  };
}

const node = nodeOf(await readNotification());
const call = kubeApi();
const pods = await call<{ items: Pod[] }>(
  "GET",
  `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`,
);
for (const pod of pods.items) {
  const { name, namespace, ownerReferences = [], annotations = {} } = pod.metadata;
  if (ownerReferences.some((o) => o.kind === "DaemonSet")) continue;
  if (annotations["kubernetes.io/config.mirror"]) continue;
  await call("POST", `/api/v1/namespaces/${namespace}/pods/${name}/eviction`, {
    apiVersion: "policy/v1",
    kind: "Eviction",
    metadata: { name, namespace },
  });
}

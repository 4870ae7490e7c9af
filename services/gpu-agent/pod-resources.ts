// Which pod and container each GPU is allocated to, from the kubelet's pod-resources API (gRPC on
// a unix socket, /var/lib/kubelet/pod-resources/kubelet.sock): the device plugin's device ids are
// GPU (or MIG device) UUIDs, so a GPU gets `pod`, `namespace` and `container` — what dcgm-exporter
// labels with — even when no process runs on it yet (an idle allocated GPU).
import { fileURLToPath } from "node:url";
import { credentials, loadPackageDefinition, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

export interface Allocation {
  pod: string;
  namespace: string;
  container: string;
}

interface ListResponse {
  pod_resources?: {
    name?: string;
    namespace?: string;
    containers?: { name?: string; devices?: { resource_name?: string; device_ids?: string[] }[] }[];
  }[];
}

const PROTO = fileURLToPath(new URL("./podresources.proto", import.meta.url));

let lister: ServiceClientConstructor | undefined;
function listerClass(): ServiceClientConstructor {
  if (!lister) {
    const definition = loadSync(PROTO, { keepCase: true, longs: String, defaults: true });
    const pkg = loadPackageDefinition(definition) as unknown as {
      v1: { PodResourcesLister: ServiceClientConstructor };
    };
    lister = pkg.v1.PodResourcesLister;
  }
  return lister;
}

/** GPU device id (UUID) → the pod and container it is allocated to, of `resources` only. */
export function allocations(response: ListResponse, resources: string[]): Map<string, Allocation> {
  const out = new Map<string, Allocation>();
  for (const pod of response.pod_resources ?? [])
    for (const container of pod.containers ?? [])
      for (const device of container.devices ?? []) {
        if (!resources.includes(device.resource_name ?? "")) continue;
        for (const id of device.device_ids ?? [])
          out.set(id, {
            pod: pod.name ?? "",
            namespace: pod.namespace ?? "",
            container: container.name ?? "",
          });
      }
  return out;
}

/** Asks the kubelet (List) over its unix socket, within `timeoutMs`. */
export function listPodResources(
  socket: string,
  resources: string[],
  timeoutMs: number,
): Promise<Map<string, Allocation>> {
  const Client = listerClass();
  const client = new Client(`unix://${socket}`, credentials.createInsecure()) as unknown as {
    List: (
      request: object,
      options: { deadline: number },
      done: (error: Error | null, response: ListResponse) => void,
    ) => void;
    close: () => void;
  };
  return new Promise((resolve, reject) => {
    client.List(
      {},
      { deadline: Date.now() + timeoutMs },
      (error: Error | null, response: ListResponse) => {
        client.close();
        if (error) reject(new Error(`pod-resources List on ${socket}: ${error.message}`));
        else resolve(allocations(response, resources));
      },
    );
  });
}

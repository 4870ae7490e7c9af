// GPU → pod, namespace and container from the kubelet's pod-resources API: a stand-in kubelet
// (the kubelet cannot run here) serving v1.PodResourcesLister over gRPC on a unix socket, asked
// by the GPU agent's real client.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allocations, listPodResources } from "../../../services/gpu-agent/pod-resources.js";

const PROTO = fileURLToPath(
  new URL("../../../services/gpu-agent/podresources.proto", import.meta.url),
);
const socket = join(mkdtempSync(join(tmpdir(), "vigil-kubelet-")), "kubelet.sock");
const server = new Server();

const LIST = {
  pod_resources: [
    {
      name: "llama-train-0",
      namespace: "ml",
      containers: [
        {
          name: "trainer",
          devices: [
            { resource_name: "nvidia.com/gpu", device_ids: ["GPU-aaaa", "GPU-bbbb"] },
            { resource_name: "rdma/hca", device_ids: ["mlx5_0"] },
          ],
          cpu_ids: [0, 1],
        },
      ],
    },
    { name: "web", namespace: "default", containers: [{ name: "nginx", devices: [] }] },
  ],
};

beforeAll(async () => {
  const pkg = loadPackageDefinition(loadSync(PROTO, { keepCase: true })) as unknown as {
    v1: { PodResourcesLister: ServiceClientConstructor };
  };
  server.addService(pkg.v1.PodResourcesLister.service, {
    List: (_call: unknown, done: (error: null, response: unknown) => void) => done(null, LIST),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    ),
  );
});
afterAll(() => server.forceShutdown());

describe("the kubelet's pod-resources API", () => {
  it("maps each GPU the device plugin allocated to its pod, namespace and container", async () => {
    const found = await listPodResources(socket, ["nvidia.com/gpu"], 2_000);
    expect(Object.fromEntries(found)).toEqual({
      "GPU-aaaa": { pod: "llama-train-0", namespace: "ml", container: "trainer" },
      "GPU-bbbb": { pod: "llama-train-0", namespace: "ml", container: "trainer" },
    });
  });

  it("says which socket could not be reached", async () => {
    await expect(listPodResources(`${socket}.missing`, ["nvidia.com/gpu"], 500)).rejects.toThrow(
      /pod-resources List on .*kubelet\.sock\.missing/,
    );
  });

  it("leaves out devices of other resources", () => {
    expect([...allocations(LIST, ["rdma/hca"]).keys()]).toEqual(["mlx5_0"]);
  });
});

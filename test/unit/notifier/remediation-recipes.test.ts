// The shipped remediation recipes against a stand-in Kubernetes API server (the API server cannot
// run here): cordon + taint keeps the node's other taints, drain evicts all but DaemonSet and
// static pods, and without --apply nothing is sent.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface Seen {
  method: string;
  url: string;
  auth: string;
  type: string;
  body: unknown;
}

const seen: Seen[] = [];
let server: Server;
let api: string;
const tokenFile = join(mkdtempSync(join(tmpdir(), "vigil-kube-")), "token");

beforeAll(async () => {
  writeFileSync(tokenFile, "s3rv1ce-acc0unt-t0ken\n");
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        auth: req.headers.authorization ?? "",
        type: req.headers["content-type"] ?? "",
        body: body ? JSON.parse(body) : undefined,
      });
      res.setHeader("content-type", "application/json");
      if (req.method === "GET" && req.url === "/api/v1/nodes/gpu-node-7")
        return res.end(
          JSON.stringify({ spec: { taints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }] } }),
        );
      if (req.method === "GET" && req.url?.startsWith("/api/v1/pods"))
        return res.end(
          JSON.stringify({
            items: [
              { metadata: { name: "trainer-0", namespace: "ml" } },
              {
                metadata: {
                  name: "dcgm-x",
                  namespace: "gpu",
                  ownerReferences: [{ kind: "DaemonSet" }],
                },
              },
              {
                metadata: {
                  name: "static",
                  namespace: "kube-system",
                  annotations: { "kubernetes.io/config.mirror": "x" },
                },
              },
            ],
          }),
        );
      res.statusCode = req.method === "POST" ? 201 : 200;
      res.end("{}");
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

function recipe(name: string, args: string[]): Promise<string> {
  const notification = {
    alerts: [
      {
        fingerprint: "aaaaaaaaaaaaaaaa",
        rule: "GpuXidCritical",
        labels: { host: "gpu-node-7", gpu: "3" },
      },
    ],
  };
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", `deploy/remediation/${name}`, ...args],
      { env: { ...process.env, VIGIL_KUBE_API: api, VIGIL_KUBE_TOKEN_FILE: tokenFile } },
      (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
    );
    child.stdin!.end(JSON.stringify(notification));
  });
}

// Each test runs a recipe as the process it is (a second or two to start under tsx): 5 s is too
// little while the rest of the suite fills both cores.
describe("the remediation recipes", { timeout: 30_000 }, () => {
  it("cordon-node cordons and taints the alert's node, keeping its other taints", async () => {
    seen.length = 0;
    await recipe("cordon-node.ts", ["--apply"]);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /api/v1/nodes/gpu-node-7",
      "PATCH /api/v1/nodes/gpu-node-7",
    ]);
    expect(seen[1]).toMatchObject({
      auth: "Bearer s3rv1ce-acc0unt-t0ken",
      type: "application/merge-patch+json",
      body: {
        spec: {
          unschedulable: true,
          taints: [
            { key: "nvidia.com/gpu", effect: "NoSchedule" },
            { key: "vigil.dev/gpu-fault", value: "GpuXidCritical", effect: "NoSchedule" },
          ],
        },
      },
    });
  });

  it("drain-node evicts the node's pods through the Eviction API, leaving DaemonSet and static pods", async () => {
    seen.length = 0;
    await recipe("drain-node.ts", ["--apply"]);
    expect(seen.map((s) => `${s.method} ${decodeURIComponent(s.url)}`)).toEqual([
      "GET /api/v1/pods?fieldSelector=spec.nodeName=gpu-node-7",
      "POST /api/v1/namespaces/ml/pods/trainer-0/eviction",
    ]);
    expect(seen[1]!.body).toMatchObject({ kind: "Eviction", metadata: { name: "trainer-0" } });
  });

  it("sends nothing that changes the cluster without --apply, and says what it would send", async () => {
    seen.length = 0;
    const out = await recipe("cordon-node.ts", []);
    expect(seen.map((s) => s.method)).toEqual(["GET"]);
    expect(out).toContain("dry run: PATCH /api/v1/nodes/gpu-node-7");
    expect(await recipe("gpu-reset.ts", [])).toContain("dry run: nvidia-smi -r -i 3");
  });
});

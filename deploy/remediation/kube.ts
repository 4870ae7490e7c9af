// What the remediation recipes share: the notification an action hook writes on stdin, the target
// node it names, and calls to the Kubernetes API as a pod's service account makes them (the
// in-cluster address and token), or VIGIL_KUBE_API / VIGIL_KUBE_TOKEN_FILE where set. Dry run
// unless --apply: a recipe then prints each request it would send and sends none.
import { readFileSync } from "node:fs";
import { Agent } from "node:https";

export interface Notification {
  alerts: { fingerprint: string; rule: string; labels: Record<string, string> }[];
}

export async function readNotification(): Promise<Notification> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as Notification;
}

/** The node an alert is about: its `node` label (Kubernetes), else `host`. */
export function nodeOf(n: Notification): string {
  const labels = n.alerts[0]?.labels ?? {};
  const node = labels.node ?? labels.host;
  if (!node || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(node))
    throw new Error(`the alert names no valid node (labels node or host): ${JSON.stringify(node)}`);
  return node;
}

export const applying = process.argv.includes("--apply");

const SA = "/var/run/secrets/kubernetes.io/serviceaccount";

export function kubeApi() {
  const base =
    process.env.VIGIL_KUBE_API ??
    `https://${process.env.KUBERNETES_SERVICE_HOST}:${process.env.KUBERNETES_SERVICE_PORT ?? 443}`;
  const token = readFileSync(process.env.VIGIL_KUBE_TOKEN_FILE ?? `${SA}/token`, "utf8").trim();
  const ca = process.env.VIGIL_KUBE_API ? undefined : readFileSync(`${SA}/ca.crt`);
  const agent = ca ? new Agent({ ca }) : undefined;
  return async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    type = "application/json",
  ): Promise<T> {
    if (!applying && method !== "GET") {
      console.log(`dry run: ${method} ${path} ${body === undefined ? "" : JSON.stringify(body)}`);
      return {} as T;
    }
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": type,
        accept: "application/json",
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      ...(agent && { dispatcher: agent }),
    } as RequestInit);
    const text = await response.text();
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    console.log(`${method} ${path}: ${response.status}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
}

// Every service's operational endpoint: /healthz (the process runs), /readyz (connected and
// partitions assigned, or whatever the service defines) and /metrics (Prometheus text format).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export interface HealthOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Undefined when ready, else why not (shown in the response). */
  notReady: () => string | undefined;
  /** A service's own endpoints (an API): answers and returns true for the paths it serves. */
  routes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export async function startHealthServer({
  host,
  port,
  registry,
  notReady,
  routes,
}: HealthOptions): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const why = notReady();
      res
        .writeHead(why ? 503 : 200, { "content-type": "text/plain" })
        .end(why ? `not ready: ${why}\n` : "ready\n");
    } else if (path === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    } else if (!routes?.(req, res)) {
      res.writeHead(404).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

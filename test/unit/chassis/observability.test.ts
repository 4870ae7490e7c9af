import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { startHealthServer } from "../../../services/chassis/http.js";
import { createLogger } from "../../../services/chassis/logger.js";
import { createMetrics } from "../../../services/chassis/metrics.js";

describe("service observability", () => {
  it("redacts secrets wherever they appear in a logged object", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()),
    });
    createLogger("sink", "info", sink).info(
      {
        kafka: { sasl: { password: "hunter2" } },
        token: "abc",
        request: { headers: { authorization: "Bearer x" } },
      },
      "connecting",
    );
    expect(lines.join("")).not.toMatch(/hunter2|"abc"|Bearer/);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      service: "sink",
      token: "[redacted]",
      kafka: { sasl: { password: "[redacted]" } },
    });
  });

  it("answers /healthz, says why it is not ready on /readyz, and serves Prometheus metrics", async () => {
    const metrics = createMetrics("probe");
    let why: string | undefined = "waiting for partition assignment";
    const server = await startHealthServer({
      host: "127.0.0.1",
      port: 0,
      registry: metrics.registry,
      notReady: () => why,
    });
    const get = (path: string) => fetch(`http://127.0.0.1:${server.port}${path}`);
    try {
      expect((await get("/healthz")).status).toBe(200);
      const notReady = await get("/readyz");
      expect([notReady.status, await notReady.text()]).toEqual([
        503,
        "not ready: waiting for partition assignment\n",
      ]);
      why = undefined;
      expect((await get("/readyz")).status).toBe(200);
      metrics.deadLetters.inc({ code: "VGL_VALIDATE" });
      const text = await (await get("/metrics")).text();
      expect(text).toContain('vigil_dead_letters_total{code="VGL_VALIDATE",service="probe"} 1');
      expect(text).toContain("# TYPE vigil_batch_processing_seconds histogram");
      expect((await get("/nope")).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

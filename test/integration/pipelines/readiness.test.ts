// /readyz means "owns partitions": a pipelines process answers 503 from the moment it listens
// until every one of its stages has been assigned its partitions — not while stages still start.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, spawnService, waitFor } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const admin = kafkaClient(endpoint).admin();

describe("pipeline readiness", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("answers 503 until every stage owns its partitions, then 200", async () => {
    const [input, output, late, repartition, dlq] = await createTopics(
      admin,
      2,
      "ready-in",
      "ready-out",
      "ready-late",
      "ready-repartition",
      "ready-dlq",
    );
    const config = join(mkdtempSync(join(tmpdir(), "vigil-ready-")), "pipelines.json");
    writeFileSync(
      config,
      JSON.stringify({
        topics: { deadLetter: dlq },
        pipelines: [
          {
            name: uniqueName("ready"),
            inputs: [input],
            output,
            late,
            repartition,
            sessionTimeout: "6s",
            processors: [
              {
                "window-aggregate": {
                  metrics: ["gpu_util_percent"],
                  groupBy: ["cluster"],
                  size: "1m",
                  aggregates: ["mean"],
                },
              },
            ],
          },
        ],
      }),
    );
    const child = spawnService("pipelines/service.ts", endpoint, { VIGIL_CONFIG: config });
    const events: string[] = [];
    child.child.stdout!.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n"))
        if (line.includes('"partitions assigned"')) events.push("assigned");
    });
    try {
      const port = await child.port;
      await waitFor(
        "readyz 200",
        async () => {
          const status = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
          if (status === 200) events.push("ready");
          return status === 200;
        },
        60_000,
      );
      // Two stages (re-key, then windows): both were assigned before the first 200.
      expect(events.indexOf("ready")).toBeGreaterThanOrEqual(2);
      expect(events.slice(0, events.indexOf("ready"))).toEqual(["assigned", "assigned"]);
    } finally {
      child.child.kill("SIGTERM");
      await child.exited;
    }
  }, 90_000);
});

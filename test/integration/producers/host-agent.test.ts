import { readFileSync } from "node:fs";
import { chassisFor } from "../../support/services.js";
import { cpus } from "node:os";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode } from "../../../schemas/codec.js";
import { startHostAgent } from "../../../services/host-agent/main.js";
import { hostAgentSettings } from "../../../services/host-agent/settings.js";
import { parseMeminfo, parseNetDev } from "../../../services/host-agent/proc.js";
import { kafkaClient } from "../../support/clients.js";
import { createTopics, readTopic, recordCount, waitFor } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

describe("host metrics agent", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("publishes this machine's metrics to Kafka, matching what /proc says", async () => {
    const [topic] = await createTopics(admin, 1, "host-metrics");
    const agent = await startHostAgent(
      hostAgentSettings.parse({
        ...chassisFor(endpoint),
        agent: { interval: "300ms", host: "test-host", labels: { cluster: "ci" }, topic },
      }),
    );
    try {
      await waitFor("three batches", async () => (await recordCount(admin, topic!)) >= 3);
      expect((await fetch(`http://127.0.0.1:${agent.http.port}/readyz`)).status).toBe(200);
    } finally {
      await agent.stop();
    }
    const meminfo = parseMeminfo(readFileSync("/proc/meminfo", "utf8"));
    const interfaces = [...parseNetDev(readFileSync("/proc/net/dev", "utf8")).keys()].sort();

    const records = await readTopic(kafka, topic!);
    expect(records.every((r) => r.key === "test-host")).toBe(true);
    const batches = records.map((r) => decode("metric-batch", r.value));
    expect(batches[0]!.source).toBe("host-agent/test-host");
    const last = batches.at(-1)!.samples;
    const values = (name: string) => last.filter((s) => s.name === name);

    expect(values("memory_total_bytes").map((s) => s.value)).toEqual([meminfo.get("MemTotal")]);
    expect(
      values("cpu_used_percent")
        .map((s) => s.labels.cpu)
        .sort(),
    ).toEqual(["total", ...cpus().map((_, i) => String(i))].sort());
    expect(values("cpu_used_percent").every((s) => s.value >= 0 && s.value <= 100)).toBe(true);
    expect(
      new Set(values("network_receive_bytes_per_second").map((s) => s.labels.interface)),
    ).toEqual(new Set(interfaces));
    expect(values("filesystem_used_percent").some((s) => s.labels.mountpoint === "/")).toBe(true);
    expect(
      last.every(
        (s) =>
          s.labels.host === "test-host" && s.labels.cluster === "ci" && Number.isFinite(s.value),
      ),
    ).toBe(true);
  });
});

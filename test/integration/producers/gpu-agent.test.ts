import { resolve } from "node:path";
import { chassisFor } from "../../support/services.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode } from "../../../schemas/codec.js";
import { startGpuAgent } from "../../../services/gpu-agent/main.js";
import { gpuAgentSettings } from "../../../services/gpu-agent/settings.js";
import { kafkaClient } from "../../support/clients.js";
import { createTopics, readTopic, recordCount, waitFor } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

const agentFor = (topic: string, nvidiaSmi: string, procRoot = "/proc") =>
  startGpuAgent(
    gpuAgentSettings.parse({
      ...chassisFor(endpoint),
      agent: { interval: "200ms", host: "gpu-node-7", topic, nvidiaSmi, procRoot },
    }),
  );

describe("GPU metrics agent", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("says there is no GPU, stays not ready and publishes nothing where nvidia-smi is missing", async () => {
    const [topic] = await createTopics(admin, 1, "gpu-none");
    const agent = await agentFor(topic!, "/nonexistent/nvidia-smi");
    try {
      await new Promise((done) => setTimeout(done, 800));
      const ready = await fetch(`http://127.0.0.1:${agent.http.port}/readyz`);
      expect([ready.status, await ready.text()]).toEqual([
        503,
        "not ready: /nonexistent/nvidia-smi not found: no NVIDIA driver on this host\n",
      ]);
    } finally {
      await agent.stop();
    }
    expect(await recordCount(admin, topic!)).toBe(0);
  });

  it("publishes each GPU's and MIG device's readings as nvidia-smi prints them", async () => {
    const [topic] = await createTopics(admin, 1, "gpu-metrics");
    process.env.NVIDIA_SMI_FIXTURE = resolve("test/fixtures/nvidia-smi/a100-mig");
    const agent = await agentFor(topic!, resolve("test/fixtures/nvidia-smi/stand-in.sh"));
    try {
      await waitFor("a batch", async () => (await recordCount(admin, topic!)) >= 1);
      expect((await fetch(`http://127.0.0.1:${agent.http.port}/readyz`)).status).toBe(200);
    } finally {
      await agent.stop();
      delete process.env.NVIDIA_SMI_FIXTURE;
    }
    const [record] = await readTopic(kafka, topic!);
    expect(record!.key).toBe("gpu-node-7");
    const batch = decode("metric-batch", record!.value);
    expect(batch.source).toBe("gpu-agent/gpu-node-7");
    const names = new Set(batch.samples.map((s) => s.name));
    expect(names.has("gpu_mig_memory_used_bytes") && names.has("gpu_temperature_celsius")).toBe(
      true,
    );
    expect(names.has("gpu_utilization_percent")).toBe(false);
    const [node, ...gpus] = [
      batch.samples.filter((s) => s.name.startsWith("node_")),
      batch.samples.filter((s) => !s.name.startsWith("node_")),
    ];
    expect(node!.map((s) => [s.name, s.value, s.labels.host])).toEqual([
      ["node_gpus", 1, "gpu-node-7"],
    ]);
    expect(
      gpus[0]!.every(
        (s) =>
          s.labels.host === "gpu-node-7" &&
          s.labels.uuid === "GPU-5e1a7b3c-2d4f-4a6b-8c9d-0e1f2a3b4c5d",
      ),
    ).toBe(true);
  });

  it("labels each GPU with the pod or Slurm job of its processes, and writes each process's GPU memory", async () => {
    const [topic] = await createTopics(admin, 1, "gpu-owners");
    process.env.NVIDIA_SMI_FIXTURE = resolve("test/fixtures/nvidia-smi/h100-x2");
    const agent = await agentFor(
      topic!,
      resolve("test/fixtures/nvidia-smi/stand-in.sh"),
      resolve("test/fixtures/proc"),
    );
    try {
      await waitFor("a batch", async () => (await recordCount(admin, topic!)) >= 1);
    } finally {
      await agent.stop();
      delete process.env.NVIDIA_SMI_FIXTURE;
    }
    const [record] = await readTopic(kafka, topic!);
    const samples = decode("metric-batch", record!.value).samples;
    const temperature = (gpu: string) =>
      samples.find((s) => s.name === "gpu_temperature_celsius" && s.labels.gpu === gpu)!.labels;
    expect(temperature("0")).toMatchObject({
      pod_uid: "7f3c1b9e-2a4d-4c3e-9b1a-0e2f4d5c6b7a",
      container_id: "3f1c9e5a7b2d",
    });
    expect(temperature("1")).toMatchObject({ slurm_job: "4242" });
    const processes = samples.filter((s) => s.name === "gpu_process_memory_used_bytes");
    expect(processes.map((s) => [s.labels.gpu, s.labels.pid, s.labels.process, s.value])).toEqual([
      ["0", "4242", "python", 65536 * 2 ** 20],
      ["1", "5151", "train.py", 2 * 2 ** 20],
    ]);
  });
});

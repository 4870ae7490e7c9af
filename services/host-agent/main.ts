// The host metrics agent: every `agent.interval`, one collection from /proc and /sys, published
// as one metric batch (key: the host) with acks=all. Ready once a batch has been published;
// a failed collection or publish is logged and counted, and the next tick tries again.
import { encode } from "../../schemas/codec.js";
import { loadConfig } from "../chassis/config.js";
import { every } from "../chassis/periodic.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { createCollector } from "./collector.js";
import type { HostAgentSettings } from "./settings.js";
import { hostAgentSettings } from "./settings.js";

export async function startHostAgent(
  settings: HostAgentSettings,
  now: () => number = Date.now,
): Promise<Service> {
  const { agent } = settings;
  let published = false;
  const service = await startService({
    name: settings.service ?? "host-agent",
    settings,
    now,
    ...(agent.edgeBuffer && { edgeBuffer: agent.edgeBuffer }),
    notReady: () => (published ? undefined : "no batch published yet"),
  });
  const collect = createCollector({
    host: agent.host,
    labels: agent.labels,
    procRoot: agent.procRoot,
    sysRoot: agent.sysRoot,
    now,
  });
  const source = `host-agent/${agent.host}`;
  const once = async () => {
    try {
      const samples = collect();
      await service.producer.send([
        { topic: agent.topic, key: agent.host, value: encode("metric-batch", { source, samples }) },
      ]);
      published = true;
    } catch (error) {
      service.metrics.dropped.inc({ reason: "host_agent_tick_failed" });
      service.logger.error({ err: error }, "collection or publish failed; retrying next tick");
    }
  };

  const loop = every(agent.interval, once, now);
  const stop = service.stop;
  return { ...service, stop: async () => (await loop.stop(), await stop()) };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(hostAgentSettings);
  await runMain(() => startHostAgent(settings), settings.shutdown.deadline);
}

// The GPU metrics agent: every interval, nvidia-smi's readings of each GPU (and MIG device) as
// one metric batch keyed by the host. Where there is no nvidia-smi or no GPU it says so at start,
// stays not-ready and publishes nothing: it never invents data.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { encode } from "../../schemas/codec.js";
import type { LogEvent } from "../../schemas/types.js";
import { loadConfig } from "../chassis/config.js";
import { every } from "../chassis/periodic.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { attribute } from "./attribution.js";
import { kernelEvents, type GpusByPci } from "./kernel-events.js";
import {
  bootOf,
  journalExportSource,
  kmsgSource,
  readCheckpoint,
  writeCheckpoint,
  type KernelLogSource,
} from "./kernel-log.js";
import {
  APPS_QUERY,
  FLAGS_QUERY,
  gpuFieldsFor,
  parseComputeApps,
  parseFlagsCsv,
  parseHelpQueryGpu,
  parseMigXml,
  parseQueryCsv,
  type GpuField,
} from "./nvidia-smi.js";
import { linkSamples, parseNvlinkErrors, parsePcieReplays } from "./links.js";
import { listPodResources } from "./pod-resources.js";
import { gpuSamples, nodeGpuSamples } from "./samples.js";
import { gpuAgentSettings, type GpuAgentSettings } from "./settings.js";

const run = promisify(execFile);

export async function startGpuAgent(
  settings: GpuAgentSettings,
  now: () => number = Date.now,
): Promise<Service> {
  const { agent } = settings;
  let unavailable: string | undefined = "no reading yet";
  const service = await startService({
    name: settings.service ?? "gpu-agent",
    settings,
    now,
    ...(agent.edgeBuffer && { edgeBuffer: agent.edgeBuffer }),
    notReady: () => unavailable,
  });
  const smi = (args: string[]) =>
    run(agent.nvidiaSmi, args, { timeout: agent.timeout, maxBuffer: 16 * 2 ** 20 }).then(
      (r) => r.stdout,
    );

  // The kernel log, when asked for: opened once, read every interval after the GPUs.
  const kernel = agent.kernelLog;
  let kernelSource: KernelLogSource | undefined;
  let lostBefore = 0;
  const gpusByPci: GpusByPci = new Map();
  const openKernelLog = (): KernelLogSource | undefined => {
    if (!kernel || kernelSource) return kernelSource;
    const after = readCheckpoint(kernel.checkpoint);
    kernelSource = kernel.kmsg
      ? kmsgSource(kernel.kmsg, { ...bootOf(agent.procRoot, now()), ...(after && { after }) })
      : journalExportSource(kernel.journalExport!, after);
    return kernelSource;
  };
  // What was read but not yet acknowledged by Kafka: sent again before anything more is read,
  // and only then is the checkpoint moved past it.
  let unsentKernel: { events: LogEvent[]; position: string } | undefined;
  const shipKernelLog = async () => {
    const source = openKernelLog();
    if (!source) return;
    if (!unsentKernel) {
      const records = source.read(kernel!.maxRecords);
      if (source.lost > lostBefore) {
        service.metrics.dropped.inc({ reason: "kmsg_overwritten" }, source.lost - lostBefore);
        lostBefore = source.lost;
      }
      const last = records[records.length - 1];
      if (!last) return;
      const events = kernelEvents(records, {
        host: agent.host,
        maxLevel: kernel!.maxLevel,
        gpus: gpusByPci,
        labels: agent.labels,
      });
      unsentKernel = { events, position: last.position };
    }
    if (unsentKernel.events.length > 0)
      await service.producer.send([
        {
          topic: kernel!.topic,
          key: agent.host,
          value: encode("log-batch", {
            source: `gpu-agent/${agent.host}/kernel`,
            events: unsentKernel.events,
          }),
        },
      ]);
    writeCheckpoint(kernel!.checkpoint, unsentKernel.position);
    unsentKernel = undefined;
  };
  /**
   * Which GPU sits at each PCI address, for the kernel log's Xid lines: asked of the driver only
   * when the GPUs it lists change; their workloads joined every interval.
   */
  let pciOf = new Map<string, string>();
  const mapPci = async (uuids: string[], workloads: Map<string, Record<string, string>>) => {
    if (!kernel) return;
    if (uuids.length !== pciOf.size || uuids.some((u) => !pciOf.has(u))) {
      const csv = await smi(["--query-gpu=index,uuid,pci.bus_id", "--format=csv,noheader"]);
      pciOf = new Map();
      for (const line of csv.split("\n")) {
        const [index, uuid, bus] = line.split(",").map((f) => f.trim());
        if (index && uuid && bus) pciOf.set(uuid, `${index}|${bus.toUpperCase()}`);
      }
    }
    gpusByPci.clear();
    for (const [uuid, at] of pciOf) {
      const [gpu, bus] = at.split("|") as [string, string];
      gpusByPci.set(bus, { gpu, uuid, ...workloads.get(uuid) });
    }
  };

  // What this driver takes, asked once: a field it does not know would fail the whole query.
  let fields: GpuField[] | undefined;
  let flagsTaken = false;
  /** Until `nvidia-smi nvlink -e` fails once (no NVLink on this host). */
  let nvlinkTaken = true;
  let linksReadAt = -Infinity;
  const probe = async () => {
    const accepted = await smi(["--help-query-gpu"]).then(parseHelpQueryGpu, () => undefined);
    fields = gpuFieldsFor(accepted);
    flagsTaken = FLAGS_QUERY.every((f) => accepted?.has(f));
    service.logger.info({ fields: fields.length, flags: flagsTaken }, "nvidia-smi fields chosen");
  };

  const once = async () => {
    let csv: string;
    try {
      if (!fields) await probe();
      csv = await smi([`--query-gpu=${fields!.join(",")}`, "--format=csv,noheader,nounits"]);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === "ENOENT"
          ? `${agent.nvidiaSmi} not found: no NVIDIA driver on this host`
          : `${agent.nvidiaSmi} failed: ${(error as Error).message.split("\n")[0]}`;
      // A driver that lists nothing is a host missing every GPU it should have.
      if (agent.expectedGpus && code !== "ENOENT")
        await service.producer
          .send([
            {
              topic: agent.topic,
              key: agent.host,
              value: encode("metric-batch", {
                source: `gpu-agent/${agent.host}`,
                samples: nodeGpuSamples(
                  0,
                  agent.expectedGpus,
                  { ...agent.labels, host: agent.host },
                  now(),
                ),
              }),
            },
          ])
          .catch(() => undefined);
      if (why !== unavailable)
        service.logger.warn({ nvidiaSmi: agent.nvidiaSmi }, `no GPU metrics: ${why}`);
      unavailable = why;
      return;
    }
    const readings = parseQueryCsv(csv, fields);
    if (readings.length === 0) {
      unavailable = "nvidia-smi lists no GPU";
      return;
    }
    // MIG devices and PCIe replays are only in the XML report: asked when a GPU may have MIG
    // devices, or for the link counters.
    // The link counters only grow: read every linksEvery, not every interval.
    const linksDue = agent.linksEvery > 0 && now() - linksReadAt >= agent.linksEvery;
    const wantXml = linksDue || readings.some((r) => r.values["utilization.gpu"] === undefined);
    const xml = wantXml ? await smi(["-q", "-x"]).catch(() => undefined) : undefined;
    const migs = xml ? parseMigXml(xml) : [];
    const base = { ...agent.labels, host: agent.host };
    const at = now();
    const health = flagsTaken
      ? parseFlagsCsv(
          await smi([`--query-gpu=${FLAGS_QUERY.join(",")}`, "--format=csv,noheader,nounits"]),
        )
      : undefined;
    const samples = gpuSamples(readings, migs, base, at, health);
    samples.push(...nodeGpuSamples(readings.length, agent.expectedGpus, base, at));
    let workloads = new Map<string, Record<string, string>>();
    if (agent.attribution) {
      try {
        const apps = parseComputeApps(
          await smi([
            `--query-compute-apps=${APPS_QUERY.join(",")}`,
            "--format=csv,noheader,nounits",
          ]),
        );
        const { gpuLabels, processSamples } = attribute(apps, readings, agent.procRoot, base, at);
        workloads = gpuLabels;
        for (const sample of samples) {
          const workload = gpuLabels.get(sample.labels.uuid ?? "");
          if (workload) sample.labels = { ...sample.labels, ...workload };
        }
        samples.push(...processSamples);
      } catch (error) {
        // The GPUs' own readings go out regardless; who uses them is added when it can be read.
        service.metrics.dropped.inc({ reason: "gpu_attribution_failed" });
        service.logger.warn({ err: error }, "GPU processes could not be read; GPUs unlabelled");
      }
    }
    if (agent.podResources) {
      const { socket, resources, timeout } = agent.podResources;
      try {
        const allocated = await listPodResources(socket, resources, timeout);
        for (const sample of samples) {
          const pod = allocated.get(sample.labels.uuid ?? "");
          if (pod) sample.labels = { ...sample.labels, ...pod };
        }
        for (const [uuid, pod] of allocated)
          workloads.set(uuid, { ...workloads.get(uuid), ...pod });
      } catch (error) {
        service.metrics.dropped.inc({ reason: "gpu_pod_resources_failed" });
        service.logger.warn({ err: error }, "pod-resources could not be read; GPUs without pods");
      }
    }
    if (linksDue) {
      linksReadAt = now();
      const labelsOf = new Map<string, Record<string, string>>();
      for (const r of readings)
        labelsOf.set(r.uuid, {
          ...base,
          gpu: r.index,
          uuid: r.uuid,
          model: r.name,
          ...workloads.get(r.uuid),
        });
      const nvlink = nvlinkTaken
        ? await smi(["nvlink", "-e"]).then(parseNvlinkErrors, () => ((nvlinkTaken = false), []))
        : [];
      samples.push(...linkSamples(nvlink, xml ? parsePcieReplays(xml) : [], labelsOf, at));
    }
    await service.producer.send([
      {
        topic: agent.topic,
        key: agent.host,
        value: encode("metric-batch", { source: `gpu-agent/${agent.host}`, samples }),
      },
    ]);
    unavailable = undefined;
    await mapPci(
      readings.map((r) => r.uuid),
      workloads,
    ).catch((error: unknown) =>
      service.logger.warn({ err: error }, "PCI addresses of the GPUs could not be read"),
    );
  };

  const loop = every(
    agent.interval,
    async () => {
      await once().catch((error: unknown) => {
        service.metrics.dropped.inc({ reason: "gpu_agent_tick_failed" });
        service.logger.error(
          { err: error },
          "GPU collection or publish failed; retrying next tick",
        );
      });
      // Unsent kernel records stay unread past the checkpoint: the next interval sends them.
      await shipKernelLog().catch((error: unknown) => {
        service.metrics.retries.inc({ stage: "kernel_log" });
        service.logger.warn({ err: error }, "kernel log not shipped; retrying next interval");
      });
    },
    now,
  );
  const stop = service.stop;
  return {
    ...service,
    stop: async () => {
      await loop.stop();
      kernelSource?.close();
      await stop();
    },
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(gpuAgentSettings);
  await runMain(() => startGpuAgent(settings), settings.shutdown.deadline);
}

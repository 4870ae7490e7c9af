// Configuration of the GPU metrics agent, on top of the chassis's.
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { agentBase } from "../chassis/agent-settings.js";
import { duration } from "../chassis/config.js";
import { baseSettings } from "../chassis/settings.js";

const agent = z.strictObject({
  ...agentBase,
  /** The nvidia-smi to run: a name looked up on PATH, or a path. */
  nvidiaSmi: z.string().min(1).default("nvidia-smi"),
  timeout: duration.default(5_000),
  /**
   * Label each GPU with the workload of its processes (pod UID and container, Slurm job, systemd
   * unit, from /proc/<pid>/cgroup) and write each process's GPU memory as a series.
   */
  attribution: z.boolean().default(true),
  /** Where /proc is (the host's, mounted into the agent's container). */
  procRoot: z.string().min(1).default("/proc"),
  /**
   * The kubelet's pod-resources socket: GPUs allocated to a pod get `pod`, `namespace` and
   * `container` (by device id), even before a process runs on them.
   */
  podResources: z
    .strictObject({
      socket: z.string().min(1).default("/var/lib/kubelet/pod-resources/kubelet.sock"),
      /** Device-plugin resources whose device ids are GPU UUIDs. */
      resources: z.array(z.string().min(1)).default(["nvidia.com/gpu"]),
      timeout: duration.default(2_000),
    })
    .optional(),
  /**
   * How often NVLink error counters (`nvidia-smi nvlink -e`) and PCIe replays (`-q -x`) are
   * read: both only grow, and `-q -x` is the driver's slowest answer. 0: never.
   */
  linksEvery: duration.default(60_000),
  /** GPUs this host should have: fewer listed is a GPU missing (node_gpus_missing). */
  expectedGpus: z.number().int().min(1).optional(),
  /**
   * Read the kernel log — /dev/kmsg, or a file of journald's export format — and ship its
   * warnings and every NVIDIA driver line as log events; an Xid carries its GPU and workload.
   */
  kernelLog: z
    .strictObject({
      kmsg: z.string().min(1).optional(),
      journalExport: z.string().min(1).optional(),
      /** Where the position read up to is kept, so a restart resumes there. */
      checkpoint: z.string().min(1).optional(),
      /** Lines of this syslog level or more urgent are shipped (4: warning); NVRM lines always. */
      maxLevel: z.number().int().min(0).max(7).default(4),
      topic: z.string().min(1).default(TOPICS.logsRaw.name),
      /** Records read per interval at most (the rest next time). */
      maxRecords: z.number().int().min(1).default(10_000),
    })
    .refine((k) => !k.kmsg !== !k.journalExport, {
      message: "give exactly one of kmsg and journalExport",
    })
    .optional(),
});

export const gpuAgentSettings = baseSettings.extend({ agent: agent.default(agent.parse({})) });
export type GpuAgentSettings = z.infer<typeof gpuAgentSettings>;

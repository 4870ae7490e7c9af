import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { attribute } from "../../../services/gpu-agent/attribution.js";
import { workloadOfCgroup } from "../../../services/gpu-agent/cgroup.js";
import { parseComputeApps, type GpuReading } from "../../../services/gpu-agent/nvidia-smi.js";

const UID = "7f3c1b9e-2a4d-4c3e-9b1a-0e2f4d5c6b7a";
const U_ = UID.replace(/-/g, "_");
const ID = "3f1c9e5a7b2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";

describe("a process's workload from its cgroup", () => {
  it.each([
    [
      "containerd, systemd driver, cgroup v2",
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${U_}.slice/cri-containerd-${ID}.scope`,
      { podUid: UID, containerId: ID, runtime: "containerd" },
    ],
    [
      "containerd or Docker, cgroupfs driver, cgroup v1",
      `12:memory:/kubepods/burstable/pod${UID}/${ID}\n3:cpu,cpuacct:/kubepods/burstable/pod${UID}/${ID}`,
      { podUid: UID, containerId: ID },
    ],
    [
      "CRI-O, systemd driver, cgroup v2 (BestEffort)",
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${U_}.slice/crio-${ID}.scope`,
      { podUid: UID, containerId: ID, runtime: "cri-o" },
    ],
    [
      "CRI-O, cgroup v1 (Guaranteed: no QoS slice)",
      `11:devices:/kubepods.slice/kubepods-pod${U_}.slice/crio-${ID}.scope`,
      { podUid: UID, containerId: ID, runtime: "cri-o" },
    ],
    [
      "containerd's systemd driver nested in its unit (kind, k3s)",
      `0::/system.slice/containerd.service/kubepods-burstable-pod${U_}.slice:cri-containerd:${ID}`,
      { podUid: UID, containerId: ID, runtime: "containerd" },
    ],
    [
      "Docker alone, cgroupfs, v1",
      `4:memory:/docker/${ID}`,
      { containerId: ID, runtime: "docker" },
    ],
    [
      "Docker alone, systemd, v2",
      `0::/system.slice/docker-${ID}.scope`,
      { containerId: ID, runtime: "docker" },
    ],
    [
      "Slurm, cgroup v1",
      "12:memory:/slurm/uid_1000/job_4242/step_0/task_0\n1:name=systemd:/system.slice/slurmd.service",
      { slurmJob: "4242", slurmStep: "0" },
    ],
    [
      "Slurm, cgroup v2",
      "0::/system.slice/slurmstepd.scope/job_4242/step_batch/user/task_0",
      { slurmJob: "4242", slurmStep: "batch" },
    ],
    [
      "a systemd service",
      "0::/system.slice/nvidia-dcgm.service",
      { systemdUnit: "nvidia-dcgm.service" },
    ],
    ["a login session: no workload", "0::/user.slice/user-1000.slice/session-3.scope", {}],
    [
      "cgroup v1 with the workload on the memory line only",
      `5:cpuset:/\n12:memory:/kubepods/besteffort/pod${UID}/${ID}\n1:name=systemd:/init.scope`,
      { podUid: UID, containerId: ID },
    ],
  ])("reads %s", (_shape, text, expected) => {
    expect(workloadOfCgroup(text)).toEqual(expected);
  });
});

describe("GPU attribution", () => {
  const gpus: GpuReading[] = [
    { index: "0", uuid: "GPU-a", name: "NVIDIA H100", values: {} },
    { index: "1", uuid: "GPU-b", name: "NVIDIA H100", values: {} },
    { index: "2", uuid: "GPU-c", name: "NVIDIA H100", values: {} },
  ];

  it("reads nvidia-smi's compute apps, names with commas and [N/A] memory included", () => {
    expect(
      parseComputeApps(
        "GPU-a, 4242, python, 30720\nGPU-a, 4243, /opt/app, v2, worker, 1024\nGPU-c, 6161, vllm, [N/A]\n",
      ),
    ).toEqual([
      { gpuUuid: "GPU-a", pid: 4242, processName: "python", usedMemoryMiB: 30720 },
      { gpuUuid: "GPU-a", pid: 4243, processName: "/opt/app, v2, worker", usedMemoryMiB: 1024 },
      { gpuUuid: "GPU-c", pid: 6161, processName: "vllm" },
    ]);
  });

  it("labels a GPU with its one workload and writes each process's memory, from a recorded /proc", () => {
    const apps = parseComputeApps(
      "GPU-a, 4242, python, 30720\nGPU-a, 4243, python, 1024\nGPU-b, 5151, train.py, 2048\nGPU-b, 6161, vllm, 512\nGPU-c, 9999, gone, 1\n",
    );
    const { gpuLabels, processSamples } = attribute(
      apps,
      gpus,
      resolve("test/fixtures/proc"),
      { host: "node-1" },
      1_000,
    );
    expect(gpuLabels.get("GPU-a")).toEqual({ pod_uid: UID, container_id: ID.slice(0, 12) });
    // Two workloads on one GPU: none wins; each process's series says which is which.
    expect(gpuLabels.has("GPU-b")).toBe(false);
    expect(gpuLabels.has("GPU-c")).toBe(false); // the process exited before its cgroup was read
    expect(
      processSamples.map((s) => [
        s.labels.gpu,
        s.labels.pid,
        s.value / 2 ** 20,
        s.labels.slurm_job ?? s.labels.container_id ?? "",
      ]),
    ).toEqual([
      ["0", "4242", 30720, ID.slice(0, 12)],
      ["0", "4243", 1024, ID.slice(0, 12)],
      ["1", "5151", 2048, "4242"],
      ["1", "6161", 512, "9b8a7c6d5e4f"],
      ["2", "9999", 1, ""],
    ]);
    expect(processSamples[0]).toMatchObject({
      name: "gpu_process_memory_used_bytes",
      unit: "bytes",
    });
  });
});

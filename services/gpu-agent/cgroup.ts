// Which workload a process belongs to, from its /proc/<pid>/cgroup: the Kubernetes pod (UID) and
// container, the Slurm job, or the systemd unit. Both cgroup versions' lines are read
// (v1: "<id>:<controllers>:<path>", v2: "0::<path>"), and the path shapes the runtimes write:
//   cgroupfs:  /kubepods/burstable/pod<uid>/<container id>           (containerd, Docker, CRI-O)
//   systemd:   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/
//              cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
//   containerd's systemd cgroup driver inside a unit: …/kubepods-…-pod<uid_>.slice:cri-containerd:<id>
//   Docker alone: /docker/<id>, /system.slice/docker-<id>.scope
//   Slurm:     /slurm/uid_<n>/job_<id>/step_<s>/…, /system.slice/slurmstepd.scope/job_<id>/step_<s>/…
export interface Workload {
  podUid?: string;
  containerId?: string;
  /** containerd, cri-o or docker, where the path says. */
  runtime?: string;
  slurmJob?: string;
  slurmStep?: string;
  systemdUnit?: string;
}

const UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/i;
const RUNTIMES: [RegExp, string][] = [
  [/(?:^|\/|:)cri-containerd[-:]([0-9a-f]{64})(?:\.scope)?$/, "containerd"],
  [/(?:^|\/)crio-([0-9a-f]{64})(?:\.scope)?$/, "cri-o"],
  [/(?:^|\/)docker-([0-9a-f]{64})\.scope$/, "docker"],
  [/^\/docker\/([0-9a-f]{64})$/, "docker"],
];

/** The workload of one cgroup path. */
export function workloadOfPath(path: string): Workload {
  const workload: Workload = {};
  const uid = UID.exec(path);
  if (uid) workload.podUid = uid[1]!.replace(/_/g, "-").toLowerCase();
  for (const [pattern, runtime] of RUNTIMES) {
    const match = pattern.exec(path);
    if (match) {
      workload.containerId = match[1]!;
      workload.runtime = runtime;
      break;
    }
  }
  // cgroupfs: /kubepods/<qos>/pod<uid>/<64-hex id> names no runtime.
  if (workload.podUid && !workload.containerId) {
    const last = /\/([0-9a-f]{64})$/.exec(path);
    if (last) workload.containerId = last[1]!;
  }
  const job = /\/job_(\d+)(?:\/step_([^/]+))?/.exec(path);
  if (job && /slurm/.test(path)) {
    workload.slurmJob = job[1]!;
    if (job[2] !== undefined) workload.slurmStep = job[2];
  }
  if (!workload.podUid && !workload.containerId && !workload.slurmJob) {
    const unit = /\/([^/]+\.service)(?:\/|$)/.exec(path);
    if (unit) workload.systemdUnit = unit[1]!;
  }
  return workload;
}

/**
 * The workload of a process from its cgroup file: the v2 line (the unified hierarchy) when there
 * is one, else the first v1 line that names a workload (memory or devices, as the kubelet's own).
 */
export function workloadOfCgroup(text: string): Workload {
  const lines = text
    .split("\n")
    .map((line) => /^(\d+):([^:]*):(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null);
  const unified = lines.find((m) => m[1] === "0" && m[2] === "");
  if (unified) {
    const found = workloadOfPath(unified[3]!);
    if (Object.keys(found).length > 0) return found;
  }
  const preferred = [...lines].sort(
    (a, b) => Number(!/memory|devices/.test(a[2]!)) - Number(!/memory|devices/.test(b[2]!)),
  );
  for (const m of preferred) {
    const found = workloadOfPath(m[3]!);
    if (Object.keys(found).length > 0) return found;
  }
  return {};
}

/** A workload as sample labels: pod_uid, container_id, slurm_job, systemd_unit where known. */
export function workloadLabels(workload: Workload): Record<string, string> {
  return {
    ...(workload.podUid && { pod_uid: workload.podUid }),
    ...(workload.containerId && { container_id: workload.containerId.slice(0, 12) }),
    ...(workload.slurmJob && { slurm_job: workload.slurmJob }),
    ...(workload.systemdUnit && { systemd_unit: workload.systemdUnit }),
  };
}

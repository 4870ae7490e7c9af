import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MetricSample } from "../../../schemas/types.js";
import { createCollector, type FsStats } from "../../../services/host-agent/collector.js";
import { increase } from "../../../services/host-agent/rates.js";

const fixtures = "test/fixtures/host";
const filesystems: Record<string, FsStats> = {
  "/": { blocks: 1000, bfree: 400, bavail: 350, bsize: 4096 },
  "/data/my models": { blocks: 200, bfree: 150, bavail: 150, bsize: 4096 },
};

/** Two collections ten seconds apart over recorded /proc snapshots. */
function collectTwice(): MetricSample[] {
  const proc = mkdtempSync(join(tmpdir(), "vigil-proc-"));
  let clock = 1_764_000_000_000;
  const collect = createCollector({
    host: "gpu-node-7",
    labels: { cluster: "train-eu-1" },
    procRoot: proc,
    sysRoot: join(fixtures, "sys"),
    now: () => clock,
    statfs: (path) => filesystems[path]!,
  });
  cpSync(join(fixtures, "t0"), proc, { recursive: true });
  collect();
  cpSync(join(fixtures, "t1"), proc, { recursive: true });
  clock += 10_000;
  return collect();
}

const value = (samples: MetricSample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .map((s) => s.value);

describe("host metrics collector", () => {
  const samples = collectTwice();

  it("labels every sample with the host and the configured extra labels", () => {
    expect(
      samples.every((s) => s.labels.host === "gpu-node-7" && s.labels.cluster === "train-eu-1"),
    ).toBe(true);
    expect(new Set(samples.map((s) => s.timestamp))).toEqual(new Set([1_764_000_010_000]));
  });

  it("computes CPU utilisation, total and per core, from the change in busy and idle time", () => {
    expect(value(samples, "cpu_used_percent", { cpu: "total" })).toEqual([80]);
    expect(value(samples, "cpu_used_percent", { cpu: "0" })[0]).toBeCloseTo((100 * 350) / 380, 6);
    expect(value(samples, "cpu_used_percent", { cpu: "1" })[0]).toBeCloseTo((100 * 50) / 120, 6);
  });

  it("reports load averages and memory and swap use", () => {
    expect([
      ...value(samples, "load_average_1m"),
      ...value(samples, "load_average_5m"),
      ...value(samples, "load_average_15m"),
    ]).toEqual([1.75, 0.9, 0.66]);
    expect(value(samples, "memory_used_percent")).toEqual([75]);
    expect(value(samples, "memory_total_bytes")).toEqual([16_384_000 * 1024]);
    expect(value(samples, "swap_used_percent")).toEqual([25]);
  });

  it("gives disk throughput and IOPS for whole disks only, with 512-byte sectors", () => {
    expect(value(samples, "disk_reads_per_second", { device: "sda" })).toEqual([10]);
    expect(value(samples, "disk_writes_per_second", { device: "sda" })).toEqual([5]);
    expect(value(samples, "disk_read_bytes_per_second", { device: "sda" })).toEqual([1_048_576]);
    expect(value(samples, "disk_written_bytes_per_second", { device: "sda" })).toEqual([524_288]);
    expect(value(samples, "disk_reads_per_second", { device: "nvme0n1" })).toEqual([0]);
    const devices = new Set(
      samples.filter((s) => s.name.startsWith("disk_")).map((s) => s.labels.device),
    );
    expect(devices).toEqual(new Set(["sda", "nvme0n1"])); // no partition, no loop device
  });

  it("turns network counters into rates across a 32-bit wrap and a reset", () => {
    expect(value(samples, "network_receive_bytes_per_second", { interface: "eth0" })).toEqual([
      100,
    ]); // wrapped
    expect(value(samples, "network_receive_drops_per_second", { interface: "eth0" })).toEqual([
      0.2,
    ]);
    expect(value(samples, "network_transmit_bytes_per_second", { interface: "eth0" })).toEqual([
      10_000,
    ]);
    expect(value(samples, "network_receive_bytes_per_second", { interface: "ib0" })).toEqual([200]); // reset: counted from zero
    expect(value(samples, "network_transmit_packets_per_second", { interface: "lo" })).toEqual([
      10,
    ]);
  });

  it("reports real file systems as df does, with escaped mount points decoded", () => {
    expect(value(samples, "filesystem_used_percent", { mountpoint: "/" })[0]).toBeCloseTo(
      (100 * 600) / 950,
      6,
    );
    expect(
      value(samples, "filesystem_used_percent", { mountpoint: "/data/my models", fstype: "xfs" }),
    ).toEqual([25]);
    expect(
      new Set(
        samples.filter((s) => s.name === "filesystem_size_bytes").map((s) => s.labels.mountpoint),
      ),
    ).toEqual(new Set(["/", "/data/my models"]));
  });

  it("emits no rate on the first collection", () => {
    const collect = createCollector({
      host: "h",
      procRoot: join(fixtures, "t0"),
      sysRoot: join(fixtures, "sys"),
      statfs: (p) => filesystems[p]!,
    });
    expect(
      collect().filter((s) => s.name.endsWith("_per_second") || s.name === "cpu_used_percent"),
    ).toEqual([]);
  });
});

describe("counter increase", () => {
  it("reads a decrease as a reset, except a wrap from the top of 32 bits", () => {
    expect(increase(100, 150)).toBe(50);
    expect(increase(150, 20)).toBe(20);
    expect(increase(2 ** 32 - 10, 5)).toBe(15);
  });
});

// The kernel log read directly (/dev/kmsg records, journald's export format), Xid lines attributed
// to their GPU and workload, and classified by NVIDIA's Xid catalog in the log pipeline.
import { copyFileSync, mkdtempSync, appendFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pciBusId, xidClass } from "../../../schemas/xid.js";
import { kernelEvents } from "../../../services/gpu-agent/kernel-events.js";
import {
  journalExportSource,
  kmsgSource,
  parseJournalExport,
  parseKmsgRecord,
} from "../../../services/gpu-agent/kernel-log.js";
import { cleanEvent } from "../../../services/log-pipeline/clean.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/kmsg");
const BOOT = Date.UTC(2026, 10, 25, 10, 0, 0);

function copy(name: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "vigil-kmsg-")), name);
  copyFileSync(join(FIXTURES, name), path);
  return path;
}

describe("the kernel log", () => {
  it("reads a /dev/kmsg record: level, sequence, time since boot, message and its dictionary", () => {
    const record = parseKmsgRecord(
      "3,1023,93121004,-;NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus.\n SUBSYSTEM=pci\n DEVICE=+pci:0000:3b:00.0",
      BOOT,
      "boot-a",
    );
    expect(record).toMatchObject({
      level: 3,
      sequence: 1023,
      timestamp: BOOT + 93_121,
      position: "boot-a:1023",
      dict: { SUBSYSTEM: "pci", DEVICE: "+pci:0000:3b:00.0" },
    });
    expect(record!.message).toBe("NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus.");
    expect(parseKmsgRecord("no header here", BOOT)).toBeUndefined();
    expect(parseKmsgRecord("6,x,1,-;text", BOOT)).toBeUndefined();
  });

  it("starts a fresh kmsg reader at what is written from now on, and resumes after a checkpoint", () => {
    const path = copy("dgx-h100.kmsg");
    const fresh = kmsgSource(path, { bootTime: BOOT, bootId: "b" });
    expect(fresh.read(100)).toEqual([]); // the ring's history is not news
    appendFileSync(path, "4,1028,97000000,-;NVRM: Xid (PCI:0000:3b:00): 48, pid=1, DBE\n");
    expect(fresh.read(100).map((r) => r.position)).toEqual(["b:1028"]);
    fresh.close();

    const resumed = kmsgSource(path, { bootTime: BOOT, bootId: "b", after: "b:1025" });
    expect(resumed.read(100).map((r) => r.position)).toEqual(["b:1026", "b:1027", "b:1028"]);
    resumed.close();
    // a checkpoint of another boot: the sequence started again, history is skipped
    const rebooted = kmsgSource(path, { bootTime: BOOT, bootId: "c", after: "b:1025" });
    expect(rebooted.read(100)).toEqual([]);
    rebooted.close();
  });

  it("counts records the ring buffer overwrote before they were read", () => {
    const path = copy("dgx-h100.kmsg");
    const source = kmsgSource(path, { bootTime: BOOT, bootId: "b", after: "b:1020" });
    source.read(100);
    appendFileSync(path, "4,1040,98000000,-;later\n");
    expect(source.read(100).map((r) => r.message)).toEqual(["later"]);
    expect(source.lost).toBe(12); // 1028 … 1039
    source.close();
  });

  it("reads journald's export format, binary fields included, keeping kernel entries only", () => {
    const { entries, consumed } = parseJournalExport(
      readFileSync(join(FIXTURES, "journal.export")),
    );
    expect(entries).toHaveLength(3);
    expect(consumed).toBe(readFileSync(join(FIXTURES, "journal.export")).length);
    expect(entries[2]!.MESSAGE).toBe(
      "NVRM: Xid (PCI:0000:3b:00): 48, pid=77, name=python, An uncorrectable double bit error\nsecond line",
    );
    const source = journalExportSource(copy("journal.export"), "s=a;i=1");
    expect(source.read(100)).toEqual([
      {
        timestamp: 1_795_600_002_500,
        level: 3,
        message: entries[2]!.MESSAGE,
        position: "s=a;i=3",
      },
    ]);
    source.close();
  });

  it("ships warnings and NVIDIA lines, and gives an Xid line its GPU and workload by PCI address", () => {
    const path = copy("dgx-h100.kmsg");
    const records = kmsgSource(path, { bootTime: BOOT, bootId: "b", after: "b:1020" }).read(100);
    const gpus = new Map<string, Record<string, string>>([
      ["00000000:3B:00.0", { gpu: "3", uuid: "GPU-3", slurm_job: "4242" }],
      [
        "00000000:18:00.0",
        { gpu: "0", uuid: "GPU-0", pod_uid: "0f3e6a52-1d7b-4b8e-9d8e-4f5a6b7c8d9e" },
      ],
    ]);
    const events = kernelEvents(records, {
      host: "n1",
      maxLevel: 4,
      gpus,
      labels: { cluster: "c" },
    });
    expect(events.map((e) => e.message.slice(0, 24))).toEqual([
      "NVRM: loading NVIDIA UNI",
      "NVRM: Xid (PCI:0000:3b:0",
      "NVRM: GPU 0000:3b:00.0: ",
      "NVRM: Xid (PCI:0000:18:0",
      "mce: [Hardware Error]: M",
    ]); // the info-level USB and nvlink lines are left out
    expect(events[1]).toMatchObject({
      service: "kernel",
      host: "n1",
      severity: "error",
      attributes: {
        xid: "79",
        pci_bus_id: "00000000:3B:00.0",
        gpu: "3",
        slurm_job: "4242",
        cluster: "c",
      },
    });
    expect(events[3]!.attributes).toMatchObject({ xid: "13", gpu: "0" });
    expect(events[3]!.attributes.pod_uid).toBe("0f3e6a52-1d7b-4b8e-9d8e-4f5a6b7c8d9e");
  });
});

describe("the Xid catalog", () => {
  it("classifies Xids by NVIDIA's resolution buckets, an unknown Xid cautiously", () => {
    expect(xidClass(79)).toMatchObject({ action: "reboot_node", severity: "critical" });
    expect(xidClass(48)).toMatchObject({ action: "reset_gpu", severity: "critical" });
    expect(xidClass(64)).toMatchObject({ action: "rma" });
    expect(xidClass(13)).toMatchObject({ action: "restart_app", severity: "major" });
    expect(xidClass(63)).toMatchObject({ action: "none", severity: "minor" });
    expect(xidClass(9999)).toMatchObject({ mnemonic: "UNKNOWN", action: "restart_app" });
    expect(pciBusId("0000:3b:00")).toBe("00000000:3B:00.0");
    expect(pciBusId("3b:00.1")).toBe("00000000:3B:00.1");
  });

  it("lifts the Xid and its class into the log event's attributes in the log pipeline", () => {
    const base = {
      timestamp: BOOT,
      severity: "info" as const,
      service: "kernel",
      host: "n1",
      attributes: {},
      traceId: null,
      spanId: null,
    };
    const cleaned = cleanEvent(
      {
        ...base,
        message: "NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', GPU has fallen off the bus.",
      },
      BOOT,
    );
    expect(cleaned).toMatchObject({
      event: {
        severity: "error",
        attributes: {
          xid: "79",
          pci: "0000:3b:00",
          pci_bus_id: "00000000:3B:00.0",
          xid_name: "GPU_HAS_FALLEN_OFF_THE_BUS",
          xid_action: "reboot_node",
          xid_severity: "critical",
        },
      },
    });
    const recovery = cleanEvent(
      {
        ...base,
        message:
          "NVRM: Xid (PCI:0000:3b:00): 154, GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot Required)",
      },
      BOOT,
    );
    expect(recovery).toMatchObject({
      event: { attributes: { xid: "154", xid_action: "reboot_node" } },
    });
  });
});

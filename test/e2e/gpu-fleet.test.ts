// The GPU fleet end to end, every service a process on the real servers: a synthetic fleet of two
// hosts × 8 GPUs running two Slurm jobs (each job on four GPUs of each host), read by two GPU
// agents through a stand-in nvidia-smi, /proc trees and kernel logs in /dev/kmsg's format. One GPU
// logs Xid 79, one develops a row-remap failure, one runs its SM clock 25 % below its job's peers.
// Exactly one page each reaches the PagerDuty stand-in, labelled with the Slurm job, with the
// right runbook; the remediation budget of one lets exactly one cordon happen (dry run, recorded
// on the ledger), and the other waits.
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { decode } from "../../schemas/codec.js";
import type { RemediationLease } from "../../schemas/types.js";
import { GPU_QUERY, FLAGS_QUERY } from "../../services/gpu-agent/nvidia-smi.js";
import { launchAll } from "../../services/launcher/supervisor.js";
import { topology } from "../../services/launcher/topology.js";
import { AI_RULES, BUILTIN_RULES } from "../../services/detector/settings.js";
import { kafkaClient, testDatabase, testIndex, uniqueName } from "../support/clients.js";
import { influxql } from "../support/influx.js";
import { readTopic, waitFor } from "../support/kafka.js";
import { ROUTING_KEY } from "../support/notifier.js";
import { pipelineRun, runTopics } from "../support/pipeline-run.js";

const servers = inject("servers");
const kafka = kafkaClient(servers.kafka);
const admin = kafka.admin();
const JOBS = ["1001", "1002"];
const BUSES = ["18", "2A", "3A", "3B", "9A", "AB", "BA", "DB"];

interface Gpu {
  index: number;
  job: string;
  smMhz: number;
  remapFailure: boolean;
}

/** One host's nvidia-smi answers, /proc (a Slurm step per GPU process) and kernel log. */
function writeHost(dir: string, host: string, gpus: Gpu[]): void {
  const uuid = (i: number) => `GPU-${host.slice(-1)}${i}000000-0000-0000-0000-00000000000${i}`;
  const row = (g: Gpu) => {
    const values: Record<string, string> = {
      index: String(g.index),
      uuid: uuid(g.index),
      name: "NVIDIA H100 80GB HBM3",
      "utilization.gpu": "90",
      "utilization.memory": "40",
      "memory.used": "30000",
      "memory.total": "81559",
      "temperature.gpu": "60",
      "power.draw": "500.00",
      "power.limit": "700.00",
      "clocks.sm": String(g.smMhz),
      "ecc.errors.corrected.volatile.total": "0",
      "ecc.errors.uncorrected.volatile.total": "0",
      "clocks_event_reasons.active": "0x0000000000000000",
      "remapped_rows.correctable": "0",
      "remapped_rows.uncorrectable": g.remapFailure ? "1" : "0",
      "retired_pages.single_bit_ecc.count": "[N/A]",
      "retired_pages.double_bit.count": "[N/A]",
      "pcie.link.gen.gpucurrent": "5",
      "pcie.link.gen.max": "5",
      "pcie.link.width.current": "16",
      "pcie.link.width.max": "16",
      "temperature.memory": "55",
      "power.draw.instant": "505.00",
      "fan.speed": "[N/A]",
    };
    return GPU_QUERY.map((f) => values[f]).join(", ");
  };
  const base = join(dir, host);
  mkdirSync(join(base, "proc/sys/kernel/random"), { recursive: true });
  writeFileSync(`${base}/smi.csv`, gpus.map(row).join("\n") + "\n");
  writeFileSync(
    `${base}/smi.help.txt`,
    [...GPU_QUERY, ...FLAGS_QUERY].map((f) => `"${f}"`).join("\n"),
  );
  writeFileSync(
    `${base}/smi.flags.csv`,
    gpus.map((g) => `${uuid(g.index)}, No, ${g.remapFailure ? "Yes" : "No"}, No`).join("\n") + "\n",
  );
  writeFileSync(
    `${base}/smi.pci.csv`,
    gpus.map((g) => `${g.index}, ${uuid(g.index)}, 00000000:${BUSES[g.index]}:00.0`).join("\n") +
      "\n",
  );
  writeFileSync(
    `${base}/smi.apps.csv`,
    gpus.map((g) => `${uuid(g.index)}, ${7000 + g.index}, python, 30000`).join("\n") + "\n",
  );
  for (const g of gpus) {
    mkdirSync(join(base, `proc/${7000 + g.index}`), { recursive: true });
    writeFileSync(
      join(base, `proc/${7000 + g.index}/cgroup`),
      `0::/system.slice/slurmstepd.scope/job_${g.job}/step_0/user/task_${g.index}\n`,
    );
  }
  writeFileSync(join(base, "proc/uptime"), "86400.00 1000000.00\n");
  writeFileSync(join(base, "proc/sys/kernel/random/boot_id"), `boot-${host}\n`);
  writeFileSync(join(base, "kmsg"), "6,1,1000,-;Linux version 6.8.0\n");
}

describe("the GPU fleet end to end", () => {
  const id = uniqueName("fleet").toLowerCase();
  const database = testDatabase("fleet");
  const dir = mkdtempSync(join(tmpdir(), "vigil-fleet-"));
  const [hostA, hostB] = [`gpu-a-${id}`, `gpu-b-${id}`];
  const topics = runTopics(id);
  // Job 1001 on GPUs 0-3, job 1002 on GPUs 4-7, of both hosts.
  const fleet = (faults: Partial<Record<number, Partial<Gpu>>>) =>
    Array.from({ length: 8 }, (_, index) => ({
      index,
      job: JOBS[index < 4 ? 0 : 1]!,
      smMhz: 1980,
      remapFailure: false,
      ...faults[index],
    }));

  const run = pipelineRun({ servers, admin, id, database }, () => {
    writeHost(dir, hostA, fleet({}));
    writeHost(dir, hostB, fleet({}));
  });

  it("pages once for each of an Xid 79, a row-remap failure and a straggler, labelled with the Slurm job and the right runbook; a budget of one lets one cordon happen and the other waits", async () => {
    const agent = (host: string) => ({
      nvidiaSmi: resolve("test/fixtures/nvidia-smi/stand-in.sh"),
      host,
      interval: "1s",
      env: { NVIDIA_SMI_FIXTURE: join(dir, host, "smi") },
      agent: { procRoot: join(dir, host, "proc"), expectedGpus: 8 },
      kernelLog: { kmsg: join(dir, host, "kmsg"), checkpoint: join(dir, host, "kmsg.pos") },
    });
    const specs = topology({
      brokers: servers.kafka.brokers,
      influx: { url: servers.influx.url, bucket: `${database}/autogen` },
      elasticsearch: {
        url: servers.elasticsearch.url,
        logIndex: testIndex("fleet-logs"),
        alertIndex: testIndex("fleet-alerts"),
      },
      topics,
      instance: id,
      basePort: 0,
      logLevel: "info",
      gpuAgent: agent(hostA),
      rules: [BUILTIN_RULES, AI_RULES],
      detector: { tick: "500ms", resendEvery: "1h" },
      peerGroups: { window: "2s", allowedLateness: "1500ms", warmup: 1, idleTimeout: "30s" },
      alerting: {
        route: {
          receiver: "pager",
          group_by: ["alertname", "host", "gpu"],
          group_wait: "1s",
          group_interval: "5s",
          repeat_interval: "1h",
          routes: [
            {
              matchers: ['alertname=~"GpuXidCritical|GpuRowRemapFailure"'],
              receiver: "quarantine",
              continue: true,
            },
            { matchers: ['severity=~".+"'], receiver: "pager" },
          ],
        },
        // A failed remap is the page; the uncorrectable rows that caused it are not another one.
        inhibit_rules: [
          {
            source_matchers: ['alertname="GpuRowRemapFailure"'],
            target_matchers: ['alertname="GpuUncorrectableRemappedRowsIncreasing"'],
            equal: ["host", "gpu"],
          },
        ],
        receivers: [
          {
            name: "pager",
            pagerduty: {
              routing_key: { env: "VIGIL_FLEET_PD_KEY" },
              url: `${run.receivers.url}/pagerduty`,
            },
          },
          {
            name: "quarantine",
            action: {
              command: ["npx", "tsx", "deploy/remediation/cordon-node.ts", "--apply"],
              allow: ["npx"],
              dry_run: true,
              budget: {
                target: ["host"],
                max_active: 1,
                max_per_hour: 5,
                cooldown: "1h",
                hold: "1h",
              },
            },
          },
        ],
      },
      notifierEnv: { VIGIL_FLEET_PD_KEY: ROUTING_KEY },
      pipelineTick: "500ms",
    });
    // The second host's agent: the same service, another host.
    const first = specs.find((s) => s.name === "gpu-agent")!;
    const second = structuredClone(first);
    second.name = "gpu-agent-b";
    const cfgB = second.config as { agent: Record<string, unknown>; http: { port: number } };
    Object.assign(cfgB.agent, {
      host: hostB,
      ...agent(hostB).agent,
      kernelLog: { ...agent(hostB).kernelLog, topic: topics.logsRaw },
    });
    second.env = agent(hostB).env;
    run.running = await launchAll([...specs, second], join(dir, "run"));

    const pages = () =>
      run.receivers
        .of("/pagerduty")
        .filter((r) => r.body.event_action === "trigger" && JSON.stringify(r.body).includes(id));
    type Page = {
      payload: { class: string; custom_details: { alerts: { labels: Record<string, string> }[] } };
      links?: { href: string }[];
    };
    const labelsOf = (p: { body: unknown }) =>
      (p.body as Page).payload.custom_details.alerts[0]!.labels;

    // A healthy fleet for a while: its peer groups warm up, nothing pages.
    await waitFor(
      "the first peer scores of both jobs",
      async () => {
        const result = (await influxql(
          servers.influx,
          `SELECT count("value") FROM "gpu_sm_clock_hertz_peer_zscore" GROUP BY "slurm_job"`,
          database,
        )) as { results: { series?: unknown[] }[] };
        return (result.results[0]?.series?.length ?? 0) === 2;
      },
      90_000,
    );
    expect(pages()).toEqual([]);

    // The faults: A's GPU 3 falls off the bus, B's GPU 6 fails a row remap, B's GPU 1 slows 25 %.
    appendFileSync(
      join(dir, hostA, "kmsg"),
      "3,2,86400000000,-;NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.\n",
    );
    writeHost(dir, hostB, fleet({ 6: { remapFailure: true }, 1: { smMhz: 1485 } }));

    await waitFor("three pages", async () => pages().length >= 3, 90_000);
    await new Promise((done) => setTimeout(done, 10_000)); // and no more
    const byRule = new Map(pages().map((p) => [(p.body as Page).payload.class, p]));
    expect(
      pages()
        .map((p) => (p.body as Page).payload.class)
        .sort(),
    ).toEqual(["GpuRowRemapFailure", "GpuXidCritical", "StragglerGpu"]);
    expect(labelsOf(byRule.get("GpuXidCritical")!)).toMatchObject({
      host: hostA,
      gpu: "3",
      slurm_job: "1001",
      xid: "79",
      xid_action: "reboot_node",
    });
    expect(labelsOf(byRule.get("GpuRowRemapFailure")!)).toMatchObject({
      host: hostB,
      gpu: "6",
      slurm_job: "1002",
    });
    expect(labelsOf(byRule.get("StragglerGpu")!)).toMatchObject({
      host: hostB,
      gpu: "1",
      slurm_job: "1001",
    });
    const runbook = (rule: string) => (byRule.get(rule)!.body as Page).links?.[0]?.href;
    expect(runbook("GpuXidCritical")).toBe("https://vigil.dev/runbooks/xid#reboot_node");
    expect(runbook("GpuRowRemapFailure")).toBe("https://vigil.dev/runbooks/gpu#row-remap-failure");
    expect(runbook("StragglerGpu")).toBe("https://vigil.dev/runbooks/gpu#straggler");

    // The budget: one cordon (dry run) recorded, the other waiting, on the ledger.
    let leases: RemediationLease[] = [];
    await waitFor(
      "both quarantine requests on the ledger",
      async () => {
        const latest = new Map<string, RemediationLease>();
        for (const r of await readTopic(kafka, topics.remediation))
          if (r.value) latest.set(String(r.key), decode("remediation", r.value));
        leases = [...latest.values()];
        return leases.length === 2;
      },
      30_000,
    );
    const states = leases.map((l) => [l.target, l.state, l.decisions.map((d) => d.decision)]);
    expect(states).toHaveLength(2);
    const acted = leases.filter((l) => l.state === "active");
    const waiting = leases.filter((l) => l.state === "waiting");
    expect(acted).toHaveLength(1);
    expect(waiting).toHaveLength(1);
    expect(acted[0]!.decisions.map((d) => d.decision)).toEqual(["dry_run"]);
    expect(waiting[0]!.decisions.map((d) => d.decision)).toEqual(["waiting"]);
    expect(waiting[0]!.decisions[0]!.reason).toContain(
      `1 of 1 target(s) in remediation (${acted[0]!.target})`,
    );
    expect(new Set(leases.map((l) => l.target))).toEqual(
      new Set([`host=${hostA}`, `host=${hostB}`]),
    );
    expect(run.receivers.refused).toEqual([]);
  }, 300_000);
});

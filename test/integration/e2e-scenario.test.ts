// The end-to-end scenario, every service a separate process on the real servers: a synthetic GPU
// node's temperature ramps past its threshold while its log reports Xid errors. Exactly one
// PagerDuty-style page and one Slack-style message reach the local receivers; the metrics are
// queryable in InfluxDB and the logs in Elasticsearch; when the GPU cools, the alert resolves once.
// The latency from the threshold crossing to the page, beyond the rule's `for`, is printed.
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { launchAll } from "../../services/launcher/supervisor.js";
import { topology } from "../../services/launcher/topology.js";
import {
  elasticsearchClient,
  kafkaClient,
  testDatabase,
  testIndex,
  uniqueName,
} from "../support/clients.js";
import { influxql } from "../support/influx.js";
import { waitFor } from "../support/kafka.js";
import { ROUTING_KEY } from "../support/notifier.js";
import { pipelineRun, runTopics } from "../support/pipeline-run.js";

const servers = inject("servers");
const kafka = kafkaClient(servers.kafka);
const admin = kafka.admin();
const FOR_MS = 10_000;

const RULES = `
rules:
  - name: GpuTemperatureHigh
    select: gpu_temperature_celsius
    when: "> 85"
    for: 10s
    recover: "< 80"
    severity: critical
    annotations:
      summary: "GPU {{ $labels.gpu }} on {{ $labels.host }} at {{ $value }} °C"
      runbook: https://vigil.dev/runbooks#gputemperaturehigh
`;

describe("the end-to-end scenario", () => {
  const id = uniqueName("e2e").toLowerCase();
  // Its own database and indices: npm start's InfluxDB and Elasticsearch never show its data.
  const database = testDatabase("e2e");
  const logIndex = testIndex("e2e-logs");
  const alertIndex = testIndex("e2e-alerts");
  const dir = mkdtempSync(join(tmpdir(), "vigil-e2e-"));
  const temperature = join(dir, "gpu-temperature");
  const gpuLog = join(dir, "kern.log");
  const host = `gpu-node-${id}`;
  const topics = runTopics(id);

  const run = pipelineRun({ servers, admin, id, database }, () => {
    writeFileSync(temperature, "60");
    writeFileSync(gpuLog, "");
    writeFileSync(join(dir, "rules.yaml"), RULES);
  });

  it("pages once and messages once when a GPU overheats, with metrics in InfluxDB and logs in Elasticsearch, and resolves once when it cools", async () => {
    const specs = topology({
      brokers: servers.kafka.brokers,
      influx: { url: servers.influx.url, bucket: `${database}/autogen` },
      elasticsearch: { url: servers.elasticsearch.url, logIndex, alertIndex },
      topics,
      instance: id,
      basePort: 0,
      logLevel: "info",
      gpuAgent: {
        nvidiaSmi: resolve("test/fixtures/nvidia-smi/synthetic.sh"),
        host,
        interval: "1s",
        env: { VIGIL_GPU_TEMPERATURE_FILE: temperature },
      },
      logShipper: { paths: [gpuLog], host, service: "kernel" },
      rules: [join(dir, "rules.yaml")],
      detector: { tick: "500ms", resendEvery: "20s" },
      alerting: {
        route: {
          receiver: "chat",
          group_by: ["alertname", "host"],
          group_wait: "2s",
          group_interval: "5s",
          repeat_interval: "1h",
          routes: [
            { matchers: ['severity="critical"'], receiver: "pager", continue: true },
            { matchers: ['severity=~".+"'], receiver: "chat" },
          ],
        },
        receivers: [
          { name: "chat", slack: { webhook_url: { env: "VIGIL_E2E_SLACK_URL" } } },
          {
            name: "pager",
            pagerduty: {
              routing_key: { env: "VIGIL_E2E_PD_KEY" },
              url: `${run.receivers.url}/pagerduty`,
            },
          },
        ],
      },
      notifierEnv: {
        VIGIL_E2E_SLACK_URL: `${run.receivers.url}/slack/e2e`,
        VIGIL_E2E_PD_KEY: ROUTING_KEY,
      },
      pipelineTick: "500ms",
    });
    run.running = await launchAll(specs, join(dir, "run"));

    const pages = () =>
      run.receivers.of("/pagerduty").filter((r) => JSON.stringify(r.body).includes(host));
    const chats = () =>
      run.receivers.of("/slack/e2e").filter((r) => JSON.stringify(r.body).includes(host));

    // A cool GPU for a while, and the driver's Xid errors in the kernel log.
    await new Promise((done) => setTimeout(done, 5_000));
    appendFileSync(
      gpuLog,
      [
        `NVRM: Xid (PCI:0000:3b:00): 79, pid=4242, name=python, GPU has fallen off the bus.`,
        `NVRM: Xid (PCI:0000:3b:00): 48, pid=4242, name=python, An uncorrectable double bit error was detected.`,
        "",
      ].join("\n"),
    );
    expect(pages()).toEqual([]);

    // The ramp: 60 → 92 °C.
    writeFileSync(temperature, "92");
    const crossed = Date.now();
    await waitFor("the page", async () => pages().length === 1, 60_000);
    const paged = pages()[0]!.at;
    await waitFor("the chat message", async () => chats().length === 1, 20_000);
    console.log(
      `e2e: threshold crossed → page ${paged - crossed} ms (rule for: ${FOR_MS} ms; beyond it: ${paged - crossed - FOR_MS} ms); → chat ${chats()[0]!.at - crossed} ms`,
    );
    expect(pages()[0]!.body).toMatchObject({
      event_action: "trigger",
      payload: { severity: "critical", source: host, summary: `GPU 0 on ${host} at 92 °C` },
    });

    // Metrics in InfluxDB, logs in Elasticsearch.
    await waitFor("the temperatures in InfluxDB", async () => {
      const result = (await influxql(
        servers.influx,
        `SELECT max("value") FROM "gpu_temperature_celsius" WHERE "host" = '${host}'`,
        database,
      )) as { results: { series?: { values: [string, number][] }[] }[] };
      return result.results[0]?.series?.[0]?.values[0]?.[1] === 92;
    });
    const es = elasticsearchClient(servers.elasticsearch);
    await waitFor("the Xid errors in Elasticsearch", async () => {
      await es.indices.refresh({
        index: `${logIndex}*`,
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      const found = await es.search<{ attributes: Record<string, string> }>({
        index: `${logIndex}*`,
        query: { term: { "attributes.xid": "79" } },
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      return found.hits.hits.length === 1;
    });

    // It cools: one resolve each, nothing else.
    writeFileSync(temperature, "70");
    await waitFor(
      "the PagerDuty resolve",
      async () =>
        run.receivers
          .of("/pagerduty")
          .some(
            (r) =>
              r.body.event_action === "resolve" && r.body.dedup_key === pages()[0]!.body.dedup_key,
          ),
      60_000,
    );
    await waitFor("the resolved chat message", async () => chats().length === 2, 20_000);
    await new Promise((done) => setTimeout(done, 8_000));
    const dedup = pages()[0]!.body.dedup_key;
    expect(
      run.receivers
        .of("/pagerduty")
        .filter((r) => r.body.dedup_key === dedup)
        .map((r) => r.body.event_action),
    ).toEqual(["trigger", "resolve"]);
    expect(chats().map((c) => c.body.text)).toEqual([
      "[FIRING:1] GpuTemperatureHigh",
      "[RESOLVED:1] GpuTemperatureHigh",
    ]);
    expect(run.receivers.refused).toEqual([]);
  }, 240_000);
});

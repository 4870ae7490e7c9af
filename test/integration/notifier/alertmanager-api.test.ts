// The notifier as a drop-in Alertmanager, as real processes on the real broker: an unchanged
// alertmanager.yml, Prometheus-format alerts POSTed to /api/v2/alerts of either of two replicas
// (one page per incident, through the alert topic), the real amtool (built with go install at a
// tagged version) creating, listing and expiring silences and querying alerts, and /-/reload.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import AjvModule from "ajv";
import addFormatsModule from "ajv-formats";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { AMTOOL, goTool } from "../../support/go-tools.js";
import { spawnService, waitFor, type ChildService } from "../../support/kafka.js";
import { notifierTopics, ROUTING_KEY, type NotifierTopics } from "../../support/notifier.js";
import { startReceivers, type Receivers } from "../../support/receivers.js";

const run = promisify(execFile);
const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// Alertmanager's OpenAPI (swagger 2.0) definitions, the contract its generated clients (amtool,
// Karma, Grafana) check every answer against.
const spec = parseYaml(
  readFileSync(join(import.meta.dirname, "../../fixtures/alertmanager/openapi.yaml"), "utf8"),
) as { definitions: object };
const ajv = new AjvModule.default({ strict: false, allErrors: true });
addFormatsModule.default(ajv);
ajv.addSchema({ $id: "am", definitions: spec.definitions });
function schemaProblems(definition: string, data: unknown): string[] {
  const validate = ajv.getSchema(`am#/definitions/${definition}`)!;
  return validate(data)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`);
}

const alertmanagerYml = (receiversUrl: string, receiver = "pager") => `
# An Alertmanager configuration, as Alertmanager reads it.
global:
  resolve_timeout: 5m
route:
  receiver: ${receiver}
  group_by: [alertname, cluster]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
    - matchers: [ severity = info ]
      receiver: "null"
inhibit_rules:
  - source_matchers: [ severity = critical ]
    target_matchers: [ severity =~ warning|info ]
    equal: [ cluster ]
receivers:
  - name: "null"
  - name: ${receiver}
    pagerduty_configs:
      - routing_key: ${ROUTING_KEY}
        url: ${receiversUrl}/pagerduty
`;

describe("the notifier as Alertmanager", () => {
  let receivers: Receivers;
  let topics: NotifierTopics;
  let amFile: string;
  let replicas: ChildService[] = [];
  let amtool: string;
  const urlOf = async (replica: ChildService) => `http://127.0.0.1:${await replica.port}`;
  let active: ChildService;

  beforeAll(async () => {
    [amtool] = await Promise.all([goTool(AMTOOL), admin.connect()]);
    receivers = await startReceivers();
    topics = await notifierTopics(admin);
    const dir = mkdtempSync(join(tmpdir(), "vigil-am-"));
    amFile = join(dir, "alertmanager.yml");
    writeFileSync(amFile, alertmanagerYml(receivers.url));
    const settings = join(dir, "notifier.json");
    const { deadLetter, ...notifierTopicNames } = topics;
    writeFileSync(
      settings,
      JSON.stringify({
        log: { level: "info" },
        topics: { deadLetter },
        notifier: {
          name: uniqueName("am").toLowerCase(),
          ...notifierTopicNames,
          tick: "200ms",
          sessionTimeout: "6s",
        },
        alertmanager: { config: amFile },
      }),
    );
    replicas = [0, 1].map(() =>
      spawnService("services/notifier/main.ts", endpoint, { VIGIL_CONFIG: settings }),
    );
    await waitFor(
      "both replicas ready",
      async () => {
        for (const r of replicas) {
          const res = await fetch(`${await urlOf(r)}/-/ready`).catch(() => undefined);
          if (!res?.ok) return false;
        }
        return true;
      },
      60_000,
    );
    // The active replica is the one whose /api/v1/alerts says so.
    await waitFor(
      "one active replica",
      async () => {
        for (const r of replicas) {
          const res = await fetch(`${await urlOf(r)}/api/v1/alerts`).catch(() => undefined);
          if (res?.ok && ((await res.json()) as { active: boolean }).active) {
            active = r;
            return true;
          }
        }
        return false;
      },
      60_000,
    );
  }, 240_000);

  afterAll(async () => {
    for (const r of replicas) r.child.kill("SIGTERM");
    await Promise.all(replicas.map((r) => r.exited));
    await receivers.close();
    await admin.disconnect();
  });

  const post = async (replica: ChildService, alerts: object[]) => {
    const res = await fetch(`${await urlOf(replica)}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(alerts),
    });
    return res.status;
  };
  const pagesFor = (cluster: string) =>
    receivers
      .of("/pagerduty")
      .filter((r) => JSON.stringify(r.body).includes(cluster) && r.body.event_action === "trigger");
  const am = (...args: string[]) =>
    run(amtool, [...args, `--alertmanager.url=http://127.0.0.1:${activePort}`], {
      timeout: 20_000,
    });
  let activePort = 0;

  it("pages once for a Prometheus alert POSTed to both replicas, through the alert topic", async () => {
    const cluster = uniqueName("train");
    const prometheusAlert = {
      labels: { alertname: "GpuXid79", cluster, severity: "critical", instance: "gpu-7:9400" },
      annotations: {
        summary: "GPU fell off the bus",
        runbook_url: "https://runbooks.example/xid-79",
        dashboard: "https://grafana.example/d/gpu",
      },
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 4 * 60_000).toISOString(),
      generatorURL: "http://prometheus.example/graph?g0.expr=xid",
    };
    // Prometheus sends to every Alertmanager it knows, and again each evaluation.
    expect(await post(replicas[0]!, [prometheusAlert])).toBe(200);
    expect(await post(replicas[1]!, [prometheusAlert])).toBe(200);
    await waitFor("the page", async () => pagesFor(cluster).length >= 1);
    expect(await post(replicas[0]!, [prometheusAlert])).toBe(200);
    await sleep(4_000); // two group intervals: a second page would have come by now
    expect(pagesFor(cluster)).toHaveLength(1);
    const page = pagesFor(cluster)[0]!.body as { payload: { summary: string } };
    expect(page.payload.summary).toContain("GPU fell off the bus");

    const listed = (await (
      await fetch(
        `${await urlOf(active)}/api/v2/alerts?filter=${encodeURIComponent(`cluster="${cluster}"`)}`,
      )
    ).json()) as Array<Record<string, unknown>>;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      labels: prometheusAlert.labels,
      annotations: {
        summary: "GPU fell off the bus",
        runbook_url: "https://runbooks.example/xid-79",
        dashboard: "https://grafana.example/d/gpu",
      },
      generatorURL: prometheusAlert.generatorURL,
      receivers: [{ name: "pager" }],
      status: { state: "active", silencedBy: [], inhibitedBy: [], mutedBy: [] },
    });
    expect(listed[0]!.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it("refuses a request with a malformed alert, naming the field", async () => {
    const res = await fetch(`${await urlOf(replicas[0]!)}/api/v2/alerts`, {
      method: "POST",
      body: JSON.stringify([{ labels: { alertname: "Ok" } }, { labels: { a: 1 } }]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toBe("alerts[1].labels.a: expected a string");
  });

  it("amtool creates, lists and expires a silence, and queries the alerts it mutes", async () => {
    activePort = await active.port;
    const cluster = uniqueName("infer");
    expect(
      await post(active, [{ labels: { alertname: "QueueStuck", cluster, severity: "warning" } }]),
    ).toBe(200);
    await waitFor("the alert in the API", async () => {
      const { stdout } = await am("alert", "query", `cluster=${cluster}`, "-o", "json");
      return (JSON.parse(stdout) as unknown[]).length === 1;
    });

    const { stdout: id } = await am(
      "silence",
      "add",
      `cluster=${cluster}`,
      "alertname=~Queue.*",
      "--comment=draining the node",
      "--author=sre@example.org",
      "--duration=1h",
    );
    const silenceId = id.trim();
    expect(silenceId).toMatch(/^[0-9a-f-]{36}$/);

    const { stdout: listed } = await am("silence", "query", "-o", "json", `cluster=${cluster}`);
    const silences = JSON.parse(listed) as Array<Record<string, unknown>>;
    expect(silences.map((s) => s.id)).toEqual([silenceId]);
    expect(silences[0]).toMatchObject({
      createdBy: "sre@example.org",
      comment: "draining the node",
      status: { state: "active" },
    });
    expect(silences[0]!.matchers).toEqual(
      expect.arrayContaining([
        { name: "cluster", value: cluster, isRegex: false, isEqual: true },
        { name: "alertname", value: "Queue.*", isRegex: true, isEqual: true },
      ]),
    );

    // The alert is now silenced: amtool's default query (active only) leaves it out, and
    // --silenced shows it. Both are awaited together: an empty default answer alone could be a
    // moment with no alert at all (while the replicas settle who is active).
    let suppressed: Array<Record<string, unknown>> = [];
    await waitFor("the alert silenced", async () => {
      const { stdout } = await am("alert", "query", `cluster=${cluster}`, "-o", "json");
      const { stdout: withSilenced } = await am(
        "alert",
        "query",
        "--silenced",
        `cluster=${cluster}`,
        "-o",
        "json",
      );
      suppressed = JSON.parse(withSilenced) as Array<Record<string, unknown>>;
      return (JSON.parse(stdout) as unknown[]).length === 0 && suppressed.length === 1;
    });
    expect(suppressed[0]!.status).toMatchObject({
      state: "suppressed",
      silencedBy: [silenceId],
    });

    await am("silence", "expire", silenceId);
    const { stdout: expired } = await am(
      "silence",
      "query",
      "--expired",
      "-o",
      "json",
      `cluster=${cluster}`,
    );
    expect((JSON.parse(expired) as Array<Record<string, unknown>>)[0]).toMatchObject({
      id: silenceId,
      status: { state: "expired" },
    });
    const { stdout: status } = await am("config", "show");
    expect(status).toContain("<secret>");
    expect(status).not.toContain(ROUTING_KEY);
  });

  // Karma's calls, as its v0.17+ mapper makes them with the generated Alertmanager client
  // (internal/mapper/v017 of github.com/prymitive/karma): status (version check ">=0.17.0"),
  // alert groups without parameters, silences; silences posted and deleted through its proxy.
  // Karma cannot be built here (its module is not served by the Go proxy), so its requests are
  // replayed and every answer is checked against the schema its client enforces.
  it("answers Karma's calls in Alertmanager's OpenAPI schema", async () => {
    const url = await urlOf(active);
    const cluster = uniqueName("karma");
    expect(
      await post(active, [
        {
          labels: { alertname: "KarmaSeen", cluster, severity: "warning" },
          annotations: { summary: "s" },
        },
      ]),
    ).toBe(200);
    const get = async (path: string) => {
      const res = await fetch(`${url}/api/v2${path}`, { headers: { accept: "application/json" } });
      expect(res.status, path).toBe(200);
      return res.json() as Promise<unknown>;
    };
    const status = (await get("/status")) as { versionInfo: { version: string } };
    expect(schemaProblems("alertmanagerStatus", status)).toEqual([]);
    expect(status.versionInfo.version).toMatch(/^\d+\.\d+\.\d+$/); // semver without pre-release
    let groups: Array<{ alerts: Array<{ labels: Record<string, string> }> }> = [];
    await waitFor("the alert in a group", async () => {
      groups = (await get("/alerts/groups")) as typeof groups;
      return groups.some((g) => g.alerts.some((a) => a.labels.cluster === cluster));
    });
    expect(schemaProblems("alertGroups", groups)).toEqual([]);
    const made = await fetch(`${url}/api/v2/silences`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        matchers: [{ name: "cluster", value: cluster, isRegex: false, isEqual: true }],
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        createdBy: "karma-user",
        comment: "from Karma",
      }),
    });
    expect(made.status).toBe(200);
    const { silenceID } = (await made.json()) as { silenceID: string };
    const silences = await get("/silences");
    expect(schemaProblems("gettableSilences", silences)).toEqual([]);
    expect(schemaProblems("gettableSilence", await get(`/silence/${silenceID}`))).toEqual([]);
    expect(schemaProblems("receiver", ((await get("/receivers")) as unknown[])[0])).toEqual([]);
    expect(schemaProblems("gettableAlerts", await get("/alerts"))).toEqual([]);
    expect((await fetch(`${url}/api/v2/silence/${silenceID}`, { method: "DELETE" })).status).toBe(
      200,
    );
    expect((await fetch(`${url}/api/v2/silence/not-a-silence`, { method: "DELETE" })).status).toBe(
      404,
    );
  });

  it("reloads routing on POST /-/reload, and keeps the old routing when the new file is wrong", async () => {
    const url = await urlOf(active);
    const receiversNow = async () =>
      ((await (await fetch(`${url}/api/v2/receivers`)).json()) as { name: string }[]).map(
        (r) => r.name,
      );
    expect(await receiversNow()).toEqual(["null", "pager"]);
    writeFileSync(amFile, `${alertmanagerYml(receivers.url, "oncall")}\n`);
    expect((await fetch(`${url}/-/reload`, { method: "POST" })).status).toBe(200);
    expect(await receiversNow()).toEqual(["null", "oncall"]);
    writeFileSync(
      amFile,
      alertmanagerYml(receivers.url).replace("group_wait: 1s", "group_wait: soon"),
    );
    const bad = await fetch(`${url}/-/reload`, { method: "POST" });
    expect(bad.status).toBe(500);
    expect(await bad.text()).toContain("route.group_wait");
    expect(await receiversNow()).toEqual(["null", "oncall"]);
    expect((await fetch(`${url}/-/healthy`)).status).toBe(200);
    expect((await fetch(`${url}/-/ready`)).status).toBe(200);
  });
});

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { goDuration } from "../../../services/notifier/alertmanager-config.js";
import { compileMatchers } from "../../../services/notifier/matchers.js";
import { compileRoute, matchRoutes } from "../../../services/notifier/routing.js";
import { readAlertmanagerFile } from "../../../services/notifier/settings.js";
import { inInterval } from "../../../services/notifier/time-intervals.js";

const fixture = (name: string) => join(import.meta.dirname, "../../fixtures/alertmanager", name);
const dir = mkdtempSync(join(tmpdir(), "vigil-am-"));
let n = 0;
function write(yaml: string): string {
  const path = join(dir, `am-${++n}.yml`);
  writeFileSync(path, yaml);
  return path;
}
const errorOf = (yaml: string) => {
  try {
    readAlertmanagerFile(write(yaml));
    return "";
  } catch (error) {
    return (error as Error).message;
  }
};
const routed = (path: string, labels: Record<string, string>) => {
  const { alerting } = readAlertmanagerFile(path);
  return matchRoutes(compileRoute(alerting.route), labels).map((r) => ({
    receiver: r.receiver,
    groupBy: r.groupBy,
  }));
};

describe("an alertmanager.yml", () => {
  it("Alertmanager's example configuration loads unchanged and routes as Alertmanager documents", () => {
    const path = fixture("simple.yml");
    const receiversOf = (labels: Record<string, string>) =>
      routed(path, labels).map((r) => r.receiver);
    // service=~"foo1|foo2|baz" goes to team X; its critical alerts to the pager below it
    expect(receiversOf({ service: "foo1", severity: "critical" })).toEqual(["team-X-pager"]);
    expect(receiversOf({ service: "baz", severity: "warning" })).toEqual(["team-X-mails"]);
    // a regex is anchored: foo10 is not foo1
    expect(receiversOf({ service: "foo10", severity: "critical" })).toEqual(["team-X-mails"]);
    expect(receiversOf({ service: "files", severity: "critical" })).toEqual(["team-Y-pager"]);
    expect(receiversOf({ service: "files" })).toEqual(["team-Y-mails"]);
    // owner=team-X continues, but the next sibling (owner=team-Y) does not match
    expect(receiversOf({ service: "database", owner: "team-X" })).toEqual(["team-X-pager"]);
    expect(receiversOf({ service: "database", owner: "team-Y" })).toEqual(["team-Y-pager"]);
    expect(routed(path, { service: "database" })).toEqual([
      { receiver: "team-DB-pager", groupBy: ["alertname", "cluster", "database"] },
    ]);
    expect(routed(path, { service: "other" })).toEqual([
      { receiver: "team-X-mails", groupBy: ["alertname", "cluster", "service"] },
    ]);
    const { alerting, resolveTimeout } = readAlertmanagerFile(path);
    expect(resolveTimeout).toBe(300_000);
    expect(alerting.route.repeat_interval).toBe(3 * 3_600_000);
    // team-X-pager has two integrations, each told on its own; e-mail defaults from global
    const pager = alerting.receivers.find((r) => r.name === "team-X-pager")!;
    expect(pager.integrations.map((i) => [i.id, i.kind, i.sendResolved])).toEqual([
      ["team-X-pager/email/0", "email", false],
      ["team-X-pager/pagerduty/1", "pagerduty", true],
    ]);
    expect(pager.integrations[0]!.config).toMatchObject({
      to: ["team-X+alerts-critical@example.org"],
      from: "alertmanager@example.org",
      smarthost: "localhost:25",
      auth_username: "alertmanager",
    });
    const inhibit = alerting.inhibit_rules[0]!;
    expect(compileMatchers(inhibit.source_matchers)({ severity: "critical" })).toBe(true);
    expect(compileMatchers(inhibit.target_matchers)({ severity: "warning" })).toBe(true);
    expect(inhibit.equal).toEqual(["alertname", "cluster", "service"]);
  });

  it("kube-prometheus' default configuration loads unchanged: unquoted matchers, null receivers", () => {
    const path = fixture("kube-prometheus.yaml");
    const receiversOf = (labels: Record<string, string>) =>
      routed(path, labels).map((r) => r.receiver);
    expect(receiversOf({ alertname: "Watchdog", severity: "none" })).toEqual(["Watchdog"]);
    expect(receiversOf({ alertname: "InfoInhibitor", severity: "none" })).toEqual(["null"]);
    expect(receiversOf({ alertname: "KubePodCrashLooping", severity: "critical" })).toEqual([
      "Critical",
    ]);
    expect(receiversOf({ alertname: "KubeCPUOvercommit", severity: "warning" })).toEqual([
      "Default",
    ]);
    const { alerting } = readAlertmanagerFile(path);
    expect(alerting.receivers.every((r) => r.integrations.length === 0)).toBe(true);
    const [first] = alerting.inhibit_rules;
    expect(compileMatchers(first!.target_matchers)({ severity: "info" })).toBe(true);
    expect(compileMatchers(first!.target_matchers)({ severity: "critical" })).toBe(false);
  });

  it("reads the old match/match_re forms, *_file secrets and global defaults", () => {
    const secretFile = join(dir, "slack-url");
    writeFileSync(secretFile, "http://127.0.0.1:1/hook\n");
    const { alerting } = readAlertmanagerFile(
      write(`
global:
  slack_api_url_file: ${secretFile}
  pagerduty_url: http://127.0.0.1:2/v2/enqueue
route:
  receiver: chat
  routes:
    - match: { team: gpu }
      match_re: { severity: "critical|page" }
      receiver: pager
inhibit_rules:
  - source_match: { severity: critical }
    target_match_re: { severity: "warn.*" }
    equal: [host]
receivers:
  - name: chat
    slack_configs: [{ channel: "#ops", send_resolved: true }]
  - name: pager
    pagerduty_configs: [{ routing_key: abc }]
    webhook_configs: [{ url: "http://127.0.0.1:3/", max_alerts: 5 }]
`),
    );
    const root = compileRoute(alerting.route);
    expect(matchRoutes(root, { team: "gpu", severity: "page" })[0]!.receiver).toBe("pager");
    expect(matchRoutes(root, { team: "gpu", severity: "pages" })[0]!.receiver).toBe("chat");
    const chat = alerting.receivers[0]!.integrations[0]!;
    expect(chat).toMatchObject({ id: "chat", kind: "slack", sendResolved: true });
    expect(chat.config).toMatchObject({ webhook_url: { file: secretFile }, channel: "#ops" });
    const [pd, hook] = alerting.receivers[1]!.integrations;
    expect(pd!.config).toMatchObject({ url: "http://127.0.0.1:2/v2/enqueue" });
    expect(hook!.config).toMatchObject({ max_alerts: 5 });
    expect(
      compileMatchers(alerting.inhibit_rules[0]!.target_matchers)({ severity: "warning" }),
    ).toBe(true);
  });

  it("refuses what Vigil does not do, naming each key, and never quotes an inline secret", () => {
    const message = errorOf(`
global:
  smtp_hello: vigil
  slack_api_url: https://hooks.slack.com/services/T000/B000/SECRETSECRET
route:
  receiver: chat
receivers:
  - name: chat
    slack_configs: [{ title: "{{ .CommonLabels.alertname }} fired" }]
    opsgenie_configs: [{ api_key: xyz }]
  - name: hook
    webhook_configs: [{ url: http://x, http_config: { basic_auth: { username: a } } }]
`);
    expect(message).toContain("global.smtp_hello: not supported by Vigil");
    expect(message).toContain(
      "receivers[0].slack_configs[0].title: custom message templates are not supported",
    );
    expect(message).toContain("receivers[0].opsgenie_configs: integration not supported by Vigil");
    expect(message).toContain("receivers[1].webhook_configs[0].http_config: not supported");
    expect(message).not.toContain("SECRETSECRET");
  });

  it("names a bad matcher or regex instead of throwing a raw error", () => {
    expect(
      errorOf(`
route:
  receiver: a
  routes: [{ receiver: a, match_re: { host: "gpu-\\\\p" } }]
receivers: [{ name: a }]
`),
    ).toMatch(/route\.routes\.0\.matchers: .*host=~"gpu-\\\\p": invalid regex/);
    expect(
      errorOf(`
route: { receiver: a, routes: [{ receiver: a, matchers: ["foo=bar}"] }] }
receivers: [{ name: a }]
`),
    ).toContain('"foo=bar}": 7:8: }: expected opening brace');
    expect(errorOf(`route: { receiver: nobody }\nreceivers: [{ name: a }]`)).toContain(
      "route.receiver: no receiver named nobody",
    );
    expect(errorOf(`route: { receiver: a, group_wait: soon }\nreceivers: [{ name: a }]`)).toContain(
      'route.group_wait: expected a duration like 5m or 1h30m, got "soon"',
    );
  });

  it("accepts a templates glob that names no file, and refuses one that names template files", () => {
    const base = `route: { receiver: a }\nreceivers: [{ name: a }]\n`;
    expect(errorOf(`templates: ["${dir}/none/*.tmpl"]\n${base}`)).toBe("");
    writeFileSync(join(dir, "x.tmpl"), '{{ define "x" }}{{ end }}');
    expect(errorOf(`templates: ["${dir}/*.tmpl"]\n${base}`)).toContain("does not run Go templates");
  });

  it("time intervals hold on weekdays, times, days of the month (from the end too), months and years, in their zone", () => {
    const { alerting } = readAlertmanagerFile(
      write(`
route: { receiver: a, mute_time_intervals: [month-end] }
receivers: [{ name: a }]
time_intervals:
  - name: month-end
    time_intervals:
      - days_of_month: ["-2:-1"]
        months: ["january:march", "12"]
        years: ["2026"]
        weekdays: ["monday:friday"]
        times: [{ start_time: "09:00", end_time: "24:00" }]
        location: Europe/Berlin
`),
    );
    const interval = alerting.time_intervals[0]!;
    // 2026-01-30 is a Friday; 10:00 in Berlin is 09:00 UTC
    expect(inInterval(interval, Date.UTC(2026, 0, 30, 9, 0))).toBe(true);
    expect(inInterval(interval, Date.UTC(2026, 0, 30, 7, 30))).toBe(false); // 08:30 Berlin
    expect(inInterval(interval, Date.UTC(2026, 0, 29, 9, 0))).toBe(false); // not the last two days
    expect(inInterval(interval, Date.UTC(2026, 3, 30, 9, 0))).toBe(false); // April
    expect(inInterval(interval, Date.UTC(2027, 0, 29, 9, 0))).toBe(false); // 2027
    expect(inInterval(interval, Date.UTC(2026, 1, 27, 9, 0))).toBe(true); // Feb 27, a Friday
  });

  it("reads Go durations", () => {
    expect(goDuration("1h30m")).toBe(5_400_000);
    expect(goDuration("1w")).toBe(604_800_000);
    expect(goDuration("250ms")).toBe(250);
    expect(goDuration("5 minutes")).toBeUndefined();
  });
});

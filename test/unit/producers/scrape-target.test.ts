// A scrape job's relabel_configs, metric_relabel_configs, honor_labels, limits, authentication
// and TLS, against local HTTP(S) servers (a certificate authority and certificates made with
// openssl for the test).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scrapeTarget } from "../../../services/prometheus-scrape/scrape.js";
import { jobSettings, type JobSettings } from "../../../services/prometheus-scrape/settings.js";
import { relabelTarget, type Target } from "../../../services/prometheus-scrape/targets.js";

const PAGE = `# TYPE gpu_temp gauge
gpu_temp{gpu="0",job="exporter-says"} 71
gpu_temp{gpu="1",job="exporter-says"} 64
go_goroutines 12
`;
const servers: { close(): void }[] = [];
afterAll(() => servers.forEach((s) => s.close()));

async function listen(
  server: ReturnType<typeof createServer>,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  server.on("request", handler);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  servers.push(server);
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const job = (over: Record<string, unknown> = {}): JobSettings =>
  jobSettings.parse({ name: "gpus", interval: "15s", timeout: "2s", ...over });
const target = (address: string, j: JobSettings): Target => relabelTarget(j, address, {})!;
const names = (samples: { name: string }[]) => samples.map((s) => s.name);

describe("a scrape job", () => {
  it("relabels its targets as Prometheus: dropped, given a path, parameters and an instance", () => {
    const j = job({
      relabelConfigs: [
        { source_labels: ["__address__"], regex: "skip-.*", action: "drop" },
        { target_label: "__metrics_path__", replacement: "/probe" },
        { source_labels: ["__address__"], target_label: "__param_target" },
        { source_labels: ["__address__"], regex: "(.*):\\d+", target_label: "instance" },
        { target_label: "__address__", replacement: "blackbox:9115" },
      ],
    });
    expect(relabelTarget(j, "skip-me:9100", {})).toBeUndefined();
    expect(relabelTarget(j, "gpu-7:9400", { rack: "r1" })).toEqual({
      job: "gpus",
      instance: "gpu-7",
      url: "http://blackbox:9115/probe?target=gpu-7%3A9400",
      labels: { rack: "r1" },
    });
  });

  it("keeps the target's job over the page's unless honor_labels, and relabels samples", async () => {
    const address = await listen(createServer(), (_req, res) => res.end(PAGE));
    const plain = await scrapeTarget(target(address, job()), job());
    expect(plain.samples.find((s) => s.name === "gpu_temp")!.labels).toMatchObject({
      job: "gpus",
      exported_job: "exporter-says",
    });
    const honoured = job({
      honorLabels: true,
      metricRelabelConfigs: [
        { source_labels: ["__name__"], regex: "go_.*", action: "drop" },
        { source_labels: ["gpu"], target_label: "device", replacement: "gpu$1" },
      ],
    });
    const result = await scrapeTarget(target(address, honoured), honoured);
    expect(names(result.samples)).toEqual([
      "gpu_temp",
      "gpu_temp",
      "up",
      "scrape_duration_seconds",
      "scrape_samples_scraped",
      "scrape_samples_post_metric_relabeling",
    ]);
    expect(result.samples[0]!.labels).toMatchObject({ job: "exporter-says", device: "gpu0" });
    const value = (name: string) => result.samples.find((s) => s.name === name)!.value;
    expect([
      value("scrape_samples_scraped"),
      value("scrape_samples_post_metric_relabeling"),
    ]).toEqual([3, 2]);
  });

  it("fails the whole scrape when a page passes sample_limit or label_limit", async () => {
    const address = await listen(createServer(), (_req, res) => res.end(PAGE));
    for (const [over, error] of [
      [{ sampleLimit: 2 }, "sample_limit exceeded: more than 2 samples"],
      [{ labelLimit: 3 }, "label_limit exceeded: gpu_temp has 4 labels, more than 3"],
    ] as const) {
      const j = job(over);
      const result = await scrapeTarget(target(address, j), j);
      expect(result.error).toContain(error);
      expect(names(result.samples)).toEqual([
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
      ]);
      expect(result.samples[0]!.value).toBe(0);
    }
  });

  it("sends basic or bearer credentials read from their secret references", async () => {
    process.env.VIGIL_TEST_SCRAPE_PASSWORD = "pa:ss";
    process.env.VIGIL_TEST_SCRAPE_TOKEN = "t0ken";
    const seen: string[] = [];
    const address = await listen(createServer(), (req, res) => {
      seen.push(req.headers.authorization ?? "");
      res.end(PAGE);
    });
    const basic = job({
      auth: { basic: { username: "vigil", password: { env: "VIGIL_TEST_SCRAPE_PASSWORD" } } },
    });
    const bearer = job({ auth: { bearer: { env: "VIGIL_TEST_SCRAPE_TOKEN" } } });
    expect((await scrapeTarget(target(address, basic), basic)).error).toBeUndefined();
    expect((await scrapeTarget(target(address, bearer), bearer)).error).toBeUndefined();
    expect(seen).toEqual([
      `Basic ${Buffer.from("vigil:pa:ss").toString("base64")}`,
      "Bearer t0ken",
    ]);
  });

  it("scrapes https with the job's CA and a client certificate, and refuses a server it cannot trust", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scrape-tls-"));
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    writeFileSync(join(dir, "san.cnf"), "subjectAltName=DNS:server\n");
    ssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=test-ca",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    );
    for (const name of ["server", "client"]) {
      ssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        `/CN=${name}`,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
      );
      ssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        `${name}.pem`,
        "-extfile",
        "san.cnf",
      );
    }
    const read = (f: string) => readFileSync(join(dir, f));
    const server = createHttpsServer({
      key: read("server.key"),
      cert: read("server.pem"),
      ca: read("ca.pem"),
      requestCert: true,
      rejectUnauthorized: true,
    });
    const address = await listen(server as never, (_req, res) => res.end(PAGE));
    const file = (f: string) => ({ file: join(dir, f) });
    const trusted = job({
      scheme: "https",
      tls: {
        ca: file("ca.pem"),
        cert: file("client.pem"),
        key: file("client.key"),
        serverName: "server",
      },
    });
    const ok = await scrapeTarget(target(address, trusted), trusted);
    expect(ok.error).toBeUndefined();
    expect(ok.samples.find((s) => s.name === "up")!.value).toBe(1);
    const untrusted = job({
      scheme: "https",
      tls: { cert: file("client.pem"), key: file("client.key") },
    });
    const refused = await scrapeTarget(target(address, untrusted), untrusted);
    expect(refused.error).toMatch(/certificate/i);
  });
});

// `npm start`: Vigil on this machine, whole.
//   1. the local stack of real servers (Kafka, InfluxDB, Elasticsearch; provisioned on first use),
//      unless VIGIL_KAFKA_BROKERS, VIGIL_INFLUX_URL and VIGIL_ES_URL point at servers of yours;
//   2. the topic catalogue applied;
//   3. every service as its own process: sinks, notifier (printing to this terminal), detector
//      with the built-in rule pack, log and metric pipelines, the host agent, the GPU agent where
//      nvidia-smi exists, the log shipper on Vigil's own logs and the scrape producer on Vigil's
//      own /metrics;
//   4. a live view until Ctrl-C, which stops everything started here (the stack too, unless it
//      was already running).
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { loadStackConfig } from "../deploy/local/config.js";
import { say } from "../deploy/local/progress.js";
import { down, formatStatus, status, up } from "../deploy/local/stack.js";
import { ALL_TOPICS } from "../schemas/topics.js";
import { plainKafka } from "./chassis/kafka.js";
import { applyTopics, describeChange, planTopics } from "./cli/topics.js";
import { AI_RULES, BUILTIN_RULES } from "./detector/settings.js";
import { startConsoleReceiver } from "./launcher/console-receiver.js";
import { startLiveView } from "./launcher/live-view.js";
import { launchAll, stopAll, type Running } from "./launcher/supervisor.js";
import { CATALOGUE_TOPICS, topology } from "./launcher/topology.js";

const config = loadStackConfig();
const external = {
  kafka: process.env.VIGIL_KAFKA_BROKERS?.split(","),
  influx: process.env.VIGIL_INFLUX_URL,
  elasticsearch: process.env.VIGIL_ES_URL,
};
const BASE_PORT = Number(process.env.VIGIL_START_BASE_PORT ?? 9470);
const running: Running[] = [];
let stackStartedHere = false;
let stopping = false;

async function main(): Promise<void> {
  if (!external.kafka || !external.influx || !external.elasticsearch) {
    stackStartedHere = !(await status(config)).every((s) => s.healthy);
    const states = await up(config);
    console.log(`\n${formatStatus(states)}\n`);
  }
  const brokers = external.kafka ?? [`127.0.0.1:${config.kafka.port}`];
  const admin = plainKafka(brokers, "vigil-start").admin();
  await admin.connect();
  const changes = await planTopics(admin, ALL_TOPICS);
  await applyTopics(admin, changes, 1);
  await admin.disconnect();
  for (const change of changes)
    if (change.kind !== "unchanged") say(`topic ${describeChange(change)}`);

  const receiver = await startConsoleReceiver((line) => console.log(line));
  const runDir = join(config.stateDir, "run");
  const hasGpu = (() => {
    try {
      execFileSync("nvidia-smi", ["-L"], { stdio: "ignore", timeout: 5_000 });
      return true;
    } catch {
      return false;
    }
  })();
  const specs = topology({
    brokers,
    influx: {
      url: external.influx ?? `http://127.0.0.1:${config.influxdb.port}`,
      bucket: "vigil/autogen",
    },
    elasticsearch: {
      url: external.elasticsearch ?? `http://127.0.0.1:${config.elasticsearch.port}`,
    },
    topics: CATALOGUE_TOPICS,
    instance: "local",
    basePort: BASE_PORT,
    logLevel: "info",
    hostAgent: { interval: "10s" },
    ...(hasGpu && { gpuAgent: { nvidiaSmi: "nvidia-smi", host: hostname(), interval: "10s" } }),
    logShipper: { paths: [join(runDir, "*.log")], host: hostname(), service: "vigil" },
    scrapeSelf: true,
    rules: [BUILTIN_RULES, AI_RULES],
    alerting: {
      route: {
        receiver: "console",
        group_by: ["alertname", "host"],
        group_wait: "10s",
        group_interval: "1m",
        repeat_interval: "4h",
      },
      receivers: [
        {
          name: "console",
          webhook: { url: { env: "VIGIL_CONSOLE_URL" }, secret: { env: "VIGIL_CONSOLE_SECRET" } },
        },
      ],
    },
    notifierEnv: { VIGIL_CONSOLE_URL: receiver.url, VIGIL_CONSOLE_SECRET: receiver.secret },
  });
  say(
    `starting ${specs.length} services${hasGpu ? "" : " (no nvidia-smi here: no GPU agent)"}; logs in ${runDir}`,
  );
  const started: { running: Running; port: number }[] = [];
  running.push(
    ...(await launchAll(specs, runDir, (r, port) => {
      say(
        `✓ ${r.spec.name} on :${port} (pid ${r.child.pid})${r.spec.name === "notifier" ? ` — console: http://127.0.0.1:${port}/console/` : ""}`,
      );
      started.push({ running: r, port });
    })),
  );
  writeFileSync(
    join(runDir, "start.json"),
    JSON.stringify({
      pid: process.pid,
      services: started.map((s) => ({
        name: s.running.spec.name,
        port: s.port,
        pid: s.running.child.pid,
      })),
    }),
  );
  const view = startLiveView(started);
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    view.stop();
    say("stopping services…");
    await stopAll(running);
    rmSync(join(runDir, "start.json"), { force: true });
    await receiver.close();
    if (stackStartedHere) await down(config);
    else say("the stack was running before: left up (npm run stack -- down stops it)");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
}

main().catch(async (error: unknown) => {
  console.error(`[start] ${(error as Error).message}`);
  await stopAll(running);
  if (stackStartedHere) await down(config);
  process.exit(1);
});

// npm run stack -- up | down | status | logs [server] [--lines N]
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { loadStackConfig } from "./config.js";
import { say } from "./progress.js";
import { tail } from "./process.js";
import { everyLocalServer } from "./registry.js";
import { down, formatStatus, status, up } from "./stack.js";

const usage = `usage: npm run stack -- <command>
  up [--brokers 3]       provision (first time) and start Kafka, InfluxDB and Elasticsearch;
                         --brokers 3: a three-node KRaft cluster (on VIGIL_KAFKA_CLUSTER_PORT)
  down                   stop the servers that up started
  status                 show each server: version, state, endpoint, pid, memory
  logs [server] [-n N]   print the last N lines (default 40) of the server logs
  logs <server> -f       follow one server's log`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      lines: { type: "string", short: "n", default: "40" },
      follow: { type: "boolean", short: "f", default: false },
      brokers: { type: "string", default: "1" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, target] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return command || values.help ? 0 : 2;
  }
  const config = loadStackConfig();
  if (values.brokers !== "1" && values.brokers !== "3") {
    console.error(
      `--brokers: 1 (one KRaft node) or 3 (a three-node cluster), got "${values.brokers}"`,
    );
    return 2;
  }
  config.kafka.nodes = values.brokers === "3" ? 3 : 1;
  switch (command) {
    case "up": {
      const started = Date.now();
      const states = await up(config);
      console.log(`\n${formatStatus(states)}\n`);
      say(
        `stack up in ${((Date.now() - started) / 1000).toFixed(1)}s; data and logs in ${config.stateDir}`,
      );
      return 0;
    }
    case "down":
      await down(config);
      return 0;
    case "status": {
      const states = await status(config);
      console.log(formatStatus(states));
      return states.every((s) => s.healthy) ? 0 : 3;
    }
    case "logs": {
      const servers = everyLocalServer(config).filter((s) => !target || s.name === target);
      if (servers.length === 0) {
        console.error(
          `logs: unknown server "${target}"; one of: ${everyLocalServer(config)
            .map((s) => s.name)
            .join(", ")}`,
        );
        return 2;
      }
      if (values.follow) {
        const child = spawn("tail", ["-F", ...servers.map((s) => s.logFile)], { stdio: "inherit" });
        return new Promise((done) => child.on("close", (code) => done(code ?? 0)));
      }
      for (const server of servers)
        console.log(`==> ${server.logFile} <==\n${tail(server.logFile, Number(values.lines))}\n`);
      return 0;
    }
    default:
      console.error(`unknown command "${command}"\n${usage}`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[stack] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

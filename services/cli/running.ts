// `vigil start | stop | status` and `vigil alerts tail`: the running pipeline as `npm start`
// leaves it described in <state dir>/run/start.json (its pid, each service's port and pid).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { KafkaClient as Kafka } from "../chassis/kafka.js";
import { loadStackConfig } from "../../deploy/local/config.js";
import { formatStatus, status } from "../../deploy/local/stack.js";
import { decode } from "../../schemas/codec.js";
import { TOPICS } from "../../schemas/topics.js";

interface StartState {
  pid: number;
  services: { name: string; port: number; pid: number }[];
}

function startState(): StartState | undefined {
  const file = join(loadStackConfig().stateDir, "run", "start.json");
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, "utf8")) as StartState;
  try {
    process.kill(state.pid, 0);
    return state;
  } catch {
    return undefined; // left behind by a start that did not stop cleanly
  }
}

export function start(): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", resolve(import.meta.dirname, "../start.ts")],
    { stdio: "inherit" },
  );
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  return new Promise((done) => child.once("exit", (code) => done(code ?? 1)));
}

export async function stop(): Promise<number> {
  const state = startState();
  if (!state) {
    console.log("no `vigil start` is running (the stack alone stops with: npm run stack -- down)");
    return 0;
  }
  process.kill(state.pid, "SIGINT");
  for (let i = 0; i < 120 && startState(); i++) await new Promise((done) => setTimeout(done, 500));
  console.log(startState() ? `still stopping (pid ${state.pid})` : "stopped");
  return 0;
}

export async function showStatus(): Promise<number> {
  console.log(formatStatus(await status(loadStackConfig())));
  const state = startState();
  if (!state) {
    console.log("\nservices: not running (start them with: npm start)");
    return 0;
  }
  console.log(`\nservices (vigil start, pid ${state.pid}):`);
  for (const s of state.services) {
    let ready = "not answering";
    try {
      const response = await fetch(`http://127.0.0.1:${s.port}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      });
      ready = (await response.text()).trim();
    } catch {
      /* stays "not answering" */
    }
    console.log(`  ${s.name.padEnd(20)} :${s.port}  pid ${s.pid}  ${ready}`);
  }
  return 0;
}

/** Prints alert events as they arrive (or all of them with --from-beginning) until Ctrl-C. */
export async function tailAlerts(
  kafka: Kafka,
  fromBeginning: boolean,
  topic = TOPICS.alerts.name,
): Promise<number> {
  const consumer = kafka.consumer({
    groupId: `vigil-cli-tail-${process.pid}-${Date.now()}`,
    maxWaitTimeInMs: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const a = decode("alert", message.value);
      const what = a.resend ? "re-sent" : a.status;
      console.log(
        `${new Date(a.sentAt || Number(message.timestamp)).toISOString()}  ${what.padEnd(8)} ${a.severity.padEnd(8)} ${a.rule}  ${a.annotations.summary}  [${a.fingerprint}]${a.flapping ? " flapping" : ""}`,
      );
    },
  });
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  await consumer.disconnect();
  return 0;
}

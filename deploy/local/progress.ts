// Long provisioning steps (Maven downloads, `go install`, unpacking) print what they are doing
// and a heartbeat, so a first run of several minutes never looks hung.
import { spawn } from "node:child_process";

export function say(message: string): void {
  process.stdout.write(`[stack] ${message}\n`);
}

const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

export interface Step {
  label: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Lines worth counting as progress (downloaded artifacts, fetched modules). */
  progressLine?: RegExp;
  heartbeatMs?: number;
  /** Values its output may echo that must not reach the terminal (a password in its arguments). */
  secrets?: string[];
}

export class StepError extends Error {
  override name = "StepError";
}

/** Runs one command as a visible step; throws with the tail of its output when it fails. */
export function runStep(step: Step): Promise<void> {
  const started = Date.now();
  say(`${step.label}…`);
  return new Promise((resolve, reject) => {
    const child = spawn(step.command, step.args, {
      cwd: step.cwd,
      env: { ...process.env, ...step.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const recent: string[] = [];
    let progress = 0;
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        recent.push(line);
        if (recent.length > 40) recent.shift();
        if (step.progressLine?.test(line)) progress += 1;
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const heartbeat = setInterval(() => {
      const count = step.progressLine ? `, ${progress} fetched` : "";
      say(`  … ${step.label} (${elapsed(started)}${count})`);
    }, step.heartbeatMs ?? 10_000);
    child.once("error", (error) => {
      clearInterval(heartbeat);
      reject(new StepError(`${step.label}: could not run ${step.command}: ${error.message}`));
    });
    child.once("close", (code) => {
      clearInterval(heartbeat);
      if (code === 0) {
        say(`✓ ${step.label} (${elapsed(started)})`);
        resolve();
      } else {
        const output = (step.secrets ?? []).reduce(
          (text, secret) => text.replaceAll(secret, "[redacted]"),
          recent.slice(-20).join("\n"),
        );
        reject(new StepError(`${step.label} failed (exit ${code}). Last output:\n${output}`));
      }
    });
  });
}

// The live terminal view of a running pipeline: per service, records in and out per second,
// consumer lag and dead letters (from each service's own /metrics), and the alerts firing (from
// the notifier's API). Redrawn in place on a terminal; printed every few refreshes otherwise.
import { parseExposition, type ParsedSample } from "../prometheus-scrape/exposition.js";
import type { Running } from "./supervisor.js";

interface Reading {
  at: number;
  in: number;
  out: number;
  deadLetters: number;
  lag: number;
  written: number;
}

const sum = (samples: ParsedSample[], name: string) =>
  samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);

async function read(port: number): Promise<Reading | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(2_000),
    });
    const samples = parseExposition(await response.text());
    return {
      at: Date.now(),
      in: sum(samples, "vigil_records_in_total"),
      out: sum(samples, "vigil_records_out_total"),
      deadLetters: sum(samples, "vigil_dead_letters_total"),
      lag: sum(samples, "vigil_consumer_lag_records"),
      written: sum(samples, "vigil_sink_written_total"),
    };
  } catch {
    return undefined;
  }
}

async function firing(port: number): Promise<string[]> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/alerts`, {
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await response.json()) as {
      alerts: {
        alert: { status: string; rule: string; labels: Record<string, string> };
        silencedBy?: string;
      }[];
    };
    return body.alerts
      .filter((a) => a.alert.status === "firing")
      .map(
        (a) =>
          `${a.alert.rule} ${a.alert.labels.host ?? a.alert.labels.instance ?? ""}${a.silencedBy ? " (silenced)" : ""}`,
      );
  } catch {
    return [];
  }
}

const perSecond = (n: number) => (n < 10 ? n.toFixed(1) : n.toFixed(0));

export function startLiveView(
  services: { running: Running; port: number }[],
  everyMs = 2_000,
): { stop(): void } {
  const previous = new Map<string, Reading>();
  const tty = process.stdout.isTTY;
  let rounds = 0;
  const render = async () => {
    const rows: string[] = [];
    let deadLetters = 0;
    for (const { running, port } of services) {
      const now = await read(port);
      const name = running.spec.name;
      const before = previous.get(name);
      if (!now) {
        rows.push(
          `  ${name.padEnd(20)} ${running.child.exitCode === null ? "not answering" : `exited (${running.child.exitCode}), see ${running.logFile}`}`,
        );
        continue;
      }
      previous.set(name, now);
      deadLetters += now.deadLetters;
      const rate = (a: number, b: number | undefined) =>
        before && b !== undefined ? perSecond((a - b) / ((now.at - before.at) / 1000)) : "…";
      rows.push(
        `  ${name.padEnd(20)} in ${rate(now.in, before?.in).padStart(7)}/s  out ${rate(now.out, before?.out).padStart(7)}/s  written ${rate(now.written, before?.written).padStart(7)}/s  lag ${String(now.lag).padStart(7)}  dead letters ${now.deadLetters}`,
      );
    }
    const notifier = services.find((s) => s.running.spec.name === "notifier");
    const alerts = notifier ? await firing(notifier.port) : [];
    const screen = [
      `Vigil — live (${new Date().toLocaleTimeString()}) · Ctrl-C stops everything started here`,
      "",
      ...rows,
      "",
      `  alerts firing: ${alerts.length}${alerts.length > 0 ? `\n    ${alerts.slice(0, 10).join("\n    ")}` : ""}`,
      `  dead letters: ${deadLetters}`,
      "",
    ].join("\n");
    if (tty) process.stdout.write(`\x1b[2J\x1b[H${screen}`);
    else if (rounds % 5 === 0) process.stdout.write(`${screen}\n`);
    rounds++;
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    await render();
    if (!stopped) timer = setTimeout(() => void loop(), everyMs);
  };
  void loop();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

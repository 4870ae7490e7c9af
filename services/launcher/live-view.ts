// The live terminal view of a running pipeline: per service, records in and out per second,
// consumer lag and dead letters (from each service's own /metrics), and the alerts firing (from
// the notifier's API). On a terminal the frame is redrawn in place (the cursor goes back up over
// the last frame; the scrollback keeps what came before, not a copy per refresh); when stdout is
// not a terminal (a pipe, a log file) one plain summary line is printed every few refreshes.
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
  /** Lines of the frame on screen now: the next frame starts that many lines up. */
  let drawn = 0;
  const render = async () => {
    const rows: string[] = [];
    const totals = { in: 0, out: 0, written: 0, lag: 0 };
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
      const seconds = before ? (now.at - before.at) / 1000 : 0;
      const delta = (a: number, b: number | undefined) =>
        before && b !== undefined && seconds > 0 ? (a - b) / seconds : undefined;
      const rate = (a: number, b: number | undefined) => {
        const r = delta(a, b);
        return r === undefined ? "…" : perSecond(r);
      };
      totals.in += delta(now.in, before?.in) ?? 0;
      totals.out += delta(now.out, before?.out) ?? 0;
      totals.written += delta(now.written, before?.written) ?? 0;
      totals.lag += now.lag;
      rows.push(
        `  ${name.padEnd(20)} in ${rate(now.in, before?.in).padStart(7)}/s  out ${rate(now.out, before?.out).padStart(7)}/s  written ${rate(now.written, before?.written).padStart(7)}/s  lag ${String(now.lag).padStart(7)}  dead letters ${now.deadLetters}`,
      );
    }
    const notifier = services.find((s) => s.running.spec.name === "notifier");
    const alerts = notifier ? await firing(notifier.port) : [];
    const time = new Date().toLocaleTimeString();
    if (tty) {
      const lines = [
        `Vigil — live (${time}) · Ctrl-C stops everything started here`,
        "",
        ...rows,
        "",
        `  alerts firing: ${alerts.length}`,
        ...alerts.slice(0, 10).map((a) => `    ${a}`),
        `  dead letters: ${deadLetters}`,
      ];
      // Back to the first line of the last frame, clear from there down, draw the new one.
      const up = drawn > 0 ? `\x1b[${drawn}F` : "";
      process.stdout.write(`${up}\x1b[J${lines.join("\n")}\n`);
      drawn = lines.length;
    } else if (rounds % 5 === 0) {
      // Plain lines, no escapes: a pipe or a log file gets a dated block every few refreshes.
      const lines = [
        `[vigil ${time}] in ${perSecond(totals.in)}/s out ${perSecond(totals.out)}/s written ${perSecond(totals.written)}/s lag ${totals.lag} dead letters ${deadLetters}`,
        ...rows,
        `  alerts firing: ${alerts.length}${alerts.length > 0 ? ` (${alerts.slice(0, 5).join(", ")}${alerts.length > 5 ? ", …" : ""})` : ""}`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    }
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

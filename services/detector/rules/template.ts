// Label and annotation templates, in the subset of Prometheus's Go templates that alert text uses:
//   "GPU {{ $labels.gpu }} on {{ $labels.host }} at {{ $value | printf \"%.1f\" }} °C"
// Variables: $labels.<name>, $value, $threshold, $rule. Pipes: printf "%.Nf" / "%d" / "%s",
// humanize (1.2k, 3.4M), humanizePercentage (0.25 → 25%), humanizeDuration (seconds → 1h 2m).
// Templates are compiled when rules load, so a typo is an error naming the rule and key, not
// a broken page at 3 a.m.

export interface TemplateData {
  labels: Record<string, string>;
  value: number;
  threshold: number | null;
  rule: string;
}

export type Template = (data: TemplateData) => string;

export class TemplateError extends Error {}

const PIPES: Record<string, (value: unknown, arg?: string) => string> = {
  printf: (value, format) => printf(format ?? "%s", value),
  humanize: (value) => humanize(Number(value)),
  humanizePercentage: (value) => `${trim(Number(value) * 100)}%`,
  humanizeDuration: (value) => humanizeDuration(Number(value)),
};

export function compileTemplate(text: string): Template {
  const parts: (string | ((data: TemplateData) => string))[] = [];
  let at = 0;
  for (const match of text.matchAll(/\{\{(.*?)\}\}/gs)) {
    parts.push(text.slice(at, match.index));
    parts.push(compileAction(match[1]!.trim()));
    at = match.index + match[0].length;
  }
  const tail = text.slice(at);
  if (tail.includes("{{")) throw new TemplateError(`unclosed {{ in ${JSON.stringify(text)}`);
  parts.push(tail);
  return (data) => parts.map((p) => (typeof p === "string" ? p : p(data))).join("");
}

function compileAction(action: string): (data: TemplateData) => string {
  const [head, ...pipes] = action.split("|").map((s) => s.trim());
  const read = variable(head ?? "");
  const steps = pipes.map((pipe) => {
    const m = /^(\w+)(?:\s+"((?:[^"\\]|\\.)*)")?$/.exec(pipe);
    const fn = m && PIPES[m[1]!];
    if (!m || !fn)
      throw new TemplateError(
        `unknown function ${JSON.stringify(pipe)} (known: ${Object.keys(PIPES).join(", ")})`,
      );
    return (value: unknown) => fn(value, m[2]);
  });
  return (data) => {
    let value: unknown = read(data);
    for (const step of steps) value = step(value);
    return typeof value === "number" ? trim(value) : String(value);
  };
}

function variable(name: string): (data: TemplateData) => unknown {
  const label = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(name);
  if (label) return (data) => data.labels[label[1]!] ?? "";
  switch (name) {
    case "$value":
      return (data) => data.value;
    case "$threshold":
      return (data) => data.threshold ?? "";
    case "$rule":
      return (data) => data.rule;
    case "$labels":
      return (data) =>
        Object.entries(data.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ");
  }
  throw new TemplateError(
    `unknown variable ${JSON.stringify(name)} (known: $labels.<name>, $value, $threshold, $rule)`,
  );
}

function trim(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(6)));
}

function printf(format: string, value: unknown): string {
  const m = /^(.*?)%(?:\.(\d+))?([dfs])(.*)$/s.exec(format);
  if (!m) throw new TemplateError(`printf: unsupported format ${JSON.stringify(format)}`);
  const [, before, precision, verb, after] = m;
  const n = Number(value);
  const body =
    verb === "s"
      ? String(value)
      : verb === "d"
        ? String(Math.trunc(n))
        : n.toFixed(precision === undefined ? 6 : Number(precision));
  return `${before}${body}${after}`;
}

function humanize(n: number): string {
  if (!Number.isFinite(n) || Math.abs(n) < 1000) return trim(Number(n.toPrecision(4)));
  const units = ["k", "M", "G", "T", "P"];
  let unit = -1;
  while (Math.abs(n) >= 1000 && unit < units.length - 1) {
    n /= 1000;
    unit++;
  }
  return `${trim(Number(n.toPrecision(4)))}${units[unit]}`;
}

function humanizeDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (Math.abs(seconds) < 1) return `${trim(Number((seconds * 1000).toPrecision(4)))}ms`;
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(" ");
}

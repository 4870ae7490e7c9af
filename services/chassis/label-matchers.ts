// Label matchers in Alertmanager's syntax (its UTF-8 matcher parser, matcher/parse), the one
// grammar for silences, routes, inhibit rules and the inside of a rule's selector:
//   severity="critical", host=~"gpu-.*"       quoted values, as PromQL writes them
//   alertname = Watchdog                      unquoted values, as kube-prometheus writes them
//   {owner="team-A", level!=critical,}        an optional pair of braces, a trailing comma
//   "service.name"="api"                      quoted (UTF-8) label names
// Quoted text is read as Go reads a string literal (\n, \", \\, \xNN bytes, \u, \U, octal), and
// must be valid UTF-8. Unquoted text is any run of characters other than space, {}!=~,\"'`.
// Regexes are compiled by label-regex (RE2: linear time, fully anchored).
import { labelRegex } from "./label-regex.js";

export type MatchOp = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}

export class MatcherSyntaxError extends Error {
  override name = "MatcherSyntaxError";
  /** Where in the input (in characters) the problem starts. */
  readonly position: number;
  /** The message without its `start:end: ` prefix. */
  readonly reason: string;
  constructor(message: string) {
    super(message);
    const m = /^(\d+):\d+: ([\s\S]*)$/.exec(message);
    this.position = m ? Number(m[1]) : 0;
    this.reason = m ? m[2]! : message;
  }
}

const RESERVED = new Set([..."{}!=~,\\\"'`"]);
const isReserved = (c: string) => RESERVED.has(c) || /\s/u.test(c);

interface Token {
  kind: "open" | "close" | "comma" | "op" | "quoted" | "unquoted" | "end";
  text: string;
  start: number;
  end: number;
}

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const chars = [...input];
  // Positions are in characters, as the error messages count them.
  while (i < chars.length) {
    const c = chars[i]!;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "{" || c === "}" || c === ",") {
      tokens.push({
        kind: c === "{" ? "open" : c === "}" ? "close" : "comma",
        text: c,
        start,
        end: ++i,
      });
    } else if (c === "=" || c === "!") {
      const two = c + (chars[i + 1] ?? "");
      const op = ["=~", "!=", "!~"].includes(two) ? two : c === "=" ? "=" : undefined;
      if (!op) throw new MatcherSyntaxError(`${start}:${start + 1}: ${c}: invalid input`);
      i += op.length;
      tokens.push({ kind: "op", text: op, start, end: i });
    } else if (c === '"') {
      i++;
      while (i < chars.length && chars[i] !== '"') i += chars[i] === "\\" ? 2 : 1;
      if (i >= chars.length)
        throw new MatcherSyntaxError(
          `${start}:${chars.length}: ${chars.slice(start).join("")}: missing end "`,
        );
      i++;
      tokens.push({ kind: "quoted", text: chars.slice(start, i).join(""), start, end: i });
    } else if (isReserved(c)) {
      throw new MatcherSyntaxError(
        `${start}:${start + 1}: ${c}: invalid input${tokens.length ? ": expected a comma or close brace" : ""}`,
      );
    } else {
      while (i < chars.length && !isReserved(chars[i]!)) i++;
      tokens.push({ kind: "unquoted", text: chars.slice(start, i).join(""), start, end: i });
    }
  }
  tokens.push({ kind: "end", text: "", start: chars.length, end: chars.length });
  return tokens;
}

const SIMPLE: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  "\\": 92,
  '"': 34,
};

/** A double-quoted Go string literal's value; throws when an escape or the UTF-8 is invalid. */
export function unquote(token: string): string {
  const bad = () => new MatcherSyntaxError(`${token}: invalid input`);
  const body = token.slice(1, -1);
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < body.length;) {
    const c = body[i]!;
    if (c !== "\\") {
      const code = body.codePointAt(i)!;
      const ch = String.fromCodePoint(code);
      bytes.push(...encoder.encode(ch));
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw bad();
    if (e in SIMPLE) {
      bytes.push(SIMPLE[e]!);
      i += 2;
    } else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 2, i + 4))) {
      bytes.push(parseInt(body.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (
      /^[0-7]{3}$/.test(body.slice(i + 1, i + 4)) &&
      parseInt(body.slice(i + 1, i + 4), 8) < 256
    ) {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
      i += 4;
    } else if (
      (e === "u" || e === "U") &&
      /^[0-9a-fA-F]+$/.test(body.slice(i + 2, i + (e === "u" ? 6 : 10)))
    ) {
      const digits = body.slice(i + 2, i + (e === "u" ? 6 : 10));
      if (digits.length !== (e === "u" ? 4 : 8)) throw bad();
      const code = parseInt(digits, 16);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw bad();
      bytes.push(...encoder.encode(String.fromCodePoint(code)));
      i += 2 + digits.length;
    } else throw bad();
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    throw bad();
  }
}

/**
 * Reads a list of matchers — `a="1", b=~x.*`, with or without braces — into matchers; throws a
 * MatcherSyntaxError naming the position (`start:end`) and what was expected.
 */
export function parseMatchers(input: string): Matcher[] {
  const tokens = lex(input);
  let at = 0;
  const peek = () => tokens[at]!;
  const next = () => tokens[at++]!;
  const unexpected = (t: Token, expected: string): never => {
    throw new MatcherSyntaxError(
      t.kind === "end"
        ? `${t.start}:${t.end}: end of input: ${expected}`
        : `${t.start}:${t.end}: unexpected ${t.text}: ${expected}`,
    );
  };
  const braced = peek().kind === "open";
  if (braced) next();
  const matchers: Matcher[] = [];
  for (;;) {
    const t = peek();
    if (t.kind === "end") {
      if (braced) unexpected(t, "expected close brace");
      break;
    }
    if (t.kind === "close") {
      if (!braced) throw new MatcherSyntaxError(`${t.start}:${t.end}: }: expected opening brace`);
      next();
      if (peek().kind !== "end") unexpected(peek(), "expected end of input");
      break;
    }
    const name = next();
    if (name.kind !== "quoted" && name.kind !== "unquoted") unexpected(name, "expected label name");
    const op = next();
    if (op.kind !== "op") unexpected(op, "expected an operator such as '=', '!=', '=~' or '!~'");
    const value = next();
    if (value.kind !== "quoted" && value.kind !== "unquoted")
      unexpected(value, "expected label value");
    const label = name.kind === "quoted" ? unquote(name.text) : name.text;
    if (label === "") throw new MatcherSyntaxError(`${name.start}:${name.end}: empty label name`);
    matchers.push({
      label,
      op: op.text as MatchOp,
      value: value.kind === "quoted" ? unquote(value.text) : value.text,
    });
    const sep = peek();
    if (sep.kind === "comma") next();
    else if (sep.kind === "close" || sep.kind === "end") continue;
    else unexpected(sep, "expected a comma or close brace");
  }
  for (const m of matchers) if (m.op === "=~" || m.op === "!~") regexOf(m);
  return matchers;
}

function regexOf(m: Matcher) {
  try {
    return labelRegex(m.value);
  } catch (error) {
    throw new MatcherSyntaxError(
      `${m.label}${m.op}${JSON.stringify(m.value)}: invalid regex: ${(error as Error).message}`,
    );
  }
}

/** Whether labels satisfy one matcher; an absent label reads as the empty string. */
export function matcherTest(m: Matcher): (value: string) => boolean {
  switch (m.op) {
    case "=":
      return (v) => v === m.value;
    case "!=":
      return (v) => v !== m.value;
    case "=~": {
      const re = regexOf(m);
      return (v) => re.test(v);
    }
    case "!~": {
      const re = regexOf(m);
      return (v) => !re.test(v);
    }
  }
}

export type LabelMatch = (labels: Record<string, string>) => boolean;

/** One predicate for a set of matchers (all must hold). */
export function compileMatcherSet(matchers: Matcher[]): LabelMatch {
  const tests = matchers.map((m) => ({ label: m.label, test: matcherTest(m) }));
  return (labels) => tests.every(({ label, test }) => test(labels[label] ?? ""));
}

/** A matcher written back in the quoted form every parser reads. */
export function formatMatcher(m: Matcher): string {
  const name = /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.label) ? m.label : JSON.stringify(m.label);
  return `${name}${m.op}${JSON.stringify(m.value)}`;
}

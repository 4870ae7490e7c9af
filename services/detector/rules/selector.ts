// Series selectors in the syntax SREs already write in PromQL:
//   gpu_temperature_celsius{host=~"gpu-.*", mig!="true"}
//   {__name__=~"(http|db)_.*_p99", window="5m"}
// Matchers: = equality, != negation, =~ regex, !~ negated regex. Regexes are fully anchored, as in
// Prometheus; a label that is absent matches the empty string, so `{env=""}` selects series
// without `env`.
import { labelRegex, type LabelRegex } from "../../chassis/label-regex.js";
import type { MetricSample } from "../../../schemas/types.js";

export type MatchOp = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}

export interface Selector {
  /** The selector as written, for messages. */
  text: string;
  matchers: Matcher[];
  /** The metric name when the selector names exactly one: lets the engine index rules by name. */
  metric?: string;
  matches(sample: Pick<MetricSample, "name" | "labels">): boolean;
}

export class SelectorError extends Error {}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const OP = /^(=~|!~|!=|=)/;

/** Parses `metric{label op "value", ...}`; throws a SelectorError saying where it went wrong. */
export function parseSelector(text: string): Selector {
  let rest = text.trim();
  const fail = (what: string): never => {
    throw new SelectorError(
      `${what} at position ${text.length - rest.length} of selector ${JSON.stringify(text)}`,
    );
  };
  const matchers: Matcher[] = [];
  const name = NAME.exec(rest)?.[0];
  if (name) {
    matchers.push({ label: "__name__", op: "=", value: name });
    rest = rest.slice(name.length).trimStart();
  }
  if (rest.startsWith("{")) {
    rest = rest.slice(1).trimStart();
    while (!rest.startsWith("}")) {
      const label = LABEL.exec(rest)?.[0] ?? fail("expected a label name");
      rest = rest.slice(label.length).trimStart();
      const op = (OP.exec(rest)?.[0] as MatchOp | undefined) ?? fail("expected =, !=, =~ or !~");
      rest = rest.slice(op.length).trimStart();
      const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest) ?? fail("expected a double-quoted value");
      const value = JSON.parse(`"${quoted[1]}"`) as string;
      rest = rest.slice(quoted[0].length).trimStart();
      matchers.push({ label, op, value });
      if (rest.startsWith(",")) rest = rest.slice(1).trimStart();
      else if (!rest.startsWith("}")) fail("expected , or }");
    }
    rest = rest.slice(1).trimStart();
  }
  if (rest !== "") fail("unexpected text");
  if (matchers.length === 0) fail("expected a metric name or {matchers}");
  return compile(text.trim(), matchers);
}

function compile(text: string, matchers: Matcher[]): Selector {
  const tests = matchers.map(({ label, op, value }) => {
    let regex: LabelRegex | undefined;
    if (op === "=~" || op === "!~") {
      try {
        regex = labelRegex(value);
      } catch (error) {
        throw new SelectorError(
          `label ${label}: invalid regex ${JSON.stringify(value)}: ${(error as Error).message}`,
        );
      }
    }
    return (sample: Pick<MetricSample, "name" | "labels">) => {
      const actual = label === "__name__" ? sample.name : (sample.labels[label] ?? "");
      switch (op) {
        case "=":
          return actual === value;
        case "!=":
          return actual !== value;
        case "=~":
          return regex!.test(actual);
        case "!~":
          return !regex!.test(actual);
      }
    };
  });
  const names = matchers.filter((m) => m.label === "__name__" && m.op === "=");
  return {
    text,
    matchers,
    ...(names.length === 1 && { metric: names[0]!.value }),
    matches: (sample) => tests.every((test) => test(sample)),
  };
}

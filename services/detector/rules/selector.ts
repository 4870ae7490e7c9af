// Series selectors in the syntax SREs already write in PromQL:
//   gpu_temperature_celsius{host=~"gpu-.*", mig!="true"}
//   {__name__=~"(http|db)_.*_p99", window="5m"}
// Matchers: = equality, != negation, =~ regex, !~ negated regex. Regexes are fully anchored, as in
// Prometheus; a label that is absent matches the empty string, so `{env=""}` selects series
// without `env`.
import {
  MatcherSyntaxError,
  matcherTest,
  parseMatchers,
  type Matcher,
} from "../../chassis/label-matchers.js";
import type { MetricSample } from "../../../schemas/types.js";

export type { Matcher, MatchOp } from "../../chassis/label-matchers.js";

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

/**
 * Parses `metric{label op "value", ...}`; the braces hold an Alertmanager matcher list (see
 * chassis/label-matchers), so values may also be unquoted and names quoted. Throws a
 * SelectorError saying where it went wrong.
 */
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
    if (!rest.endsWith("}")) fail("expected } at the end");
    try {
      matchers.push(...parseMatchers(rest.slice(1, -1)));
    } catch (error) {
      if (!(error instanceof MatcherSyntaxError)) throw error;
      rest = rest.slice(1 + error.position);
      fail(error.reason);
    }
    rest = "";
  }
  if (rest !== "") fail("unexpected text");
  if (!name && !text.trim().startsWith("{")) fail("expected a metric name or {matchers}");
  return compile(text.trim(), matchers);
}

function compile(text: string, matchers: Matcher[]): Selector {
  const tests = matchers.map((m) => {
    const test = matcherTest(m);
    return (sample: Pick<MetricSample, "name" | "labels">) =>
      test(m.label === "__name__" ? sample.name : (sample.labels[m.label] ?? ""));
  });
  const names = matchers.filter((m) => m.label === "__name__" && m.op === "=");
  return {
    text,
    matchers,
    ...(names.length === 1 && { metric: names[0]!.value }),
    matches: (sample) => tests.every((test) => test(sample)),
  };
}

import { describe, expect, it } from "vitest";
import {
  compileMatcherSet,
  formatMatcher,
  MatcherSyntaxError,
  parseMatchers,
} from "../../../services/chassis/label-matchers.js";

const read = (text: string) => parseMatchers(text).map((m) => `${m.label}${m.op}${m.value}`);
const errorOf = (text: string) => {
  try {
    parseMatchers(text);
    return "";
  } catch (error) {
    expect(error).toBeInstanceOf(MatcherSyntaxError);
    return (error as Error).message;
  }
};

describe("label matchers in Alertmanager's syntax", () => {
  it("read unquoted values with spaces around the operator, as kube-prometheus writes them", () => {
    expect(read("severity = critical")).toEqual(["severity=critical"]);
    expect(read("severity =~ warning|info")).toEqual(["severity=~warning|info"]);
  });

  it("read braces, trailing commas and several matchers in one entry", () => {
    expect(read('{owner="team-A", level!=critical,}')).toEqual(["owner=team-A", "level!=critical"]);
    expect(read("{}")).toEqual([]);
    expect(read("")).toEqual([]);
  });

  it("read quoted UTF-8 names and Go escapes in quoted values", () => {
    expect(read('"service.name"="api"')).toEqual(["service.name=api"]);
    expect(read('foo="\\xf0\\x9f\\x99\\x82"')).toEqual(["foo=🙂"]);
    expect(read('foo="\\U0001f642 \\"q\\" \\\\ \\t"')).toEqual(['foo=🙂 "q" \\ \t']);
  });

  it("name the position and what was expected when the text is wrong", () => {
    expect(errorOf("foo=bar}")).toBe("7:8: }: expected opening brace");
    expect(errorOf("{foo=bar")).toBe("8:8: end of input: expected close brace");
    expect(errorOf(",")).toBe("0:1: unexpected ,: expected label name");
    expect(errorOf('{foo="bar\\w"}')).toBe('"bar\\w": invalid input');
    expect(errorOf('foo="\\xf0\\x9f"')).toBe('"\\xf0\\x9f": invalid input');
    expect(errorOf('host=~"(a"')).toMatch(/^host=~"\(a": invalid regex: /);
  });

  it("match as Prometheus does: regexes anchored, an absent label as the empty string", () => {
    const match = compileMatcherSet(parseMatchers('host=~"gpu-.*", env!="prod", team=""'));
    expect(match({ host: "gpu-7" })).toBe(true);
    expect(match({ host: "a-gpu-7" })).toBe(false);
    expect(match({ host: "gpu-7", env: "prod" })).toBe(false);
    expect(match({ host: "gpu-7", team: "x" })).toBe(false);
  });

  it("write a matcher back in a form every parser reads", () => {
    for (const m of parseMatchers('"a.b"="x \\"y\\"", c=~"\\\\d+"'))
      expect(parseMatchers(formatMatcher(m))).toEqual([m]);
  });
});

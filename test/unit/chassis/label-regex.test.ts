import { describe, expect, it } from "vitest";
import { labelRegex, labelRegexProblem } from "../../../services/chassis/label-regex.js";

describe("label regexes (RE2, Prometheus semantics)", () => {
  it("match the whole value, never a part of it", () => {
    expect(labelRegex("gpu-.*").test("gpu-node-1")).toBe(true);
    expect(labelRegex("gpu").test("a-gpu-node")).toBe(false);
    expect(labelRegex("a|b").test("ab")).toBe(false);
  });

  it("let a dot match a newline, as Prometheus's (?s) does", () => {
    expect(labelRegex("line1.*line2").test("line1\nline2")).toBe(true);
  });

  it("answer a pattern that makes a backtracking engine explode at once, and correctly", () => {
    expect(labelRegex("(a+)+b").test("a".repeat(10_000))).toBe(false);
    expect(labelRegex("(a+)+b").test(`${"a".repeat(10_000)}b`)).toBe(true);
  });

  it("give numbered and named groups, in Go's (?P<name>) spelling too", () => {
    const match = labelRegex("([^:]+):(?P<port>\\d+)").exec("node-1:9100");
    expect([...match!]).toEqual(["node-1:9100", "node-1", "9100"]);
    expect(match!.groups).toEqual({ port: "9100" });
    expect(labelRegex("x").exec("y")).toBeNull();
  });

  it("refuse what RE2 does not run — lookarounds, backreferences — saying why", () => {
    expect(labelRegexProblem("(?=a)a")).toMatch(/invalid or unsupported Perl syntax/);
    expect(labelRegexProblem("(a)\\1")).toMatch(/invalid escape sequence/);
    expect(labelRegexProblem("(a")).toMatch(/missing closing \)/);
    expect(labelRegexProblem("a{2,}")).toBeUndefined();
  });
});

// Invalid rules are refused at load time with errors that name the file, the rule and the key.
import { describe, expect, it } from "vitest";
import { parseRules, RuleError } from "../../../services/detector/rules/load.js";
import { parseSelector } from "../../../services/detector/rules/selector.js";
import { compileTemplate } from "../../../services/detector/rules/template.js";

const errorOf = (yaml: string): string => {
  try {
    parseRules(yaml, "rules.yaml");
  } catch (error) {
    if (error instanceof RuleError) return error.message;
    throw error;
  }
  throw new Error("the rules were accepted");
};

const rule = (extra: string) => `rules:
  - name: GpuHot
    select: gpu_temperature_celsius
    severity: critical
    annotations: { summary: hot }
${extra}`;

describe("rule validation", () => {
  it("names the rule and key of a bad duration", () => {
    expect(errorOf(rule(`    when: "> 85"\n    for: 5 minutes`))).toBe(
      'rules.yaml: rules[0] (GpuHot).for: expected a duration like "30s", "5m" or "250ms", got "5 minutes"',
    );
  });

  it("names a misspelt key", () => {
    expect(errorOf(rule(`    when: "> 85"\n    keepFiring: 2m`))).toContain(
      "rules[0] (GpuHot): unknown key(s): keepFiring",
    );
  });

  it("refuses a rule that can never fire", () => {
    expect(errorOf(rule(""))).toContain(
      'rules[0] (GpuHot).when: give when (a threshold) or anomaly, or noData.action "absent"',
    );
  });

  it("refuses hysteresis that contradicts itself", () => {
    expect(errorOf(rule(`    when: "> 85"\n    recover: "< 90"`))).toMatch(
      /rules\[0\] \(GpuHot\)\.recover: .* both fires \(> 85\) and recovers \(< 90\)/,
    );
  });

  it("names an unknown detector option", () => {
    expect(errorOf(rule(`    anomaly: { detector: ewma, alfa: 0.2 }`))).toContain(
      "rules[0] (GpuHot).anomaly: unknown key(s) for detector ewma: alfa",
    );
  });

  it("refuses two rules with one name", () => {
    const twice = `${rule(`    when: "> 85"`)}\n${rule(`    when: "> 95"`).replace("rules:\n", "")}`;
    expect(errorOf(twice)).toBe("rules.yaml: rule name(s) used twice: GpuHot");
  });

  it("points into a broken selector", () => {
    expect(() => parseSelector('gpu{host="a" gpu="0"}')).toThrow(
      'unexpected gpu: expected a comma or close brace at position 13 of selector "gpu{host=\\"a\\" gpu=\\"0\\"}"',
    );
  });

  it("names an unknown template function", () => {
    expect(() => compileTemplate("{{ $value | humanise }}")).toThrow(/unknown function "humanise"/);
  });
});

describe("selectors", () => {
  const sample = (name: string, labels: Record<string, string>) => ({ name, labels });

  it("match by equality, negation, regex and negated regex, regexes anchored", () => {
    const s = parseSelector('disk{mount=~"/data.*", fstype!~"tmpfs|overlay", env!="dev", dc="eu"}');
    expect(s.matches(sample("disk", { mount: "/data1", fstype: "ext4", dc: "eu" }))).toBe(true);
    expect(s.matches(sample("disk", { mount: "/srv/data1", fstype: "ext4", dc: "eu" }))).toBe(
      false,
    );
    expect(s.matches(sample("disk", { mount: "/data1", fstype: "tmpfs", dc: "eu" }))).toBe(false);
    expect(
      s.matches(sample("disk", { mount: "/data1", fstype: "ext4", dc: "eu", env: "dev" })),
    ).toBe(false);
    expect(s.matches(sample("disks", { mount: "/data1", fstype: "ext4", dc: "eu" }))).toBe(false);
  });

  it("select by a regex on the metric name", () => {
    const s = parseSelector('{__name__=~"(http|db)_.*_p99"}');
    expect(s.metric).toBeUndefined();
    expect(s.matches(sample("db_query_seconds_p99", {}))).toBe(true);
    expect(s.matches(sample("db_query_seconds_p95", {}))).toBe(false);
  });
});

describe("templates", () => {
  const data = { labels: { host: "n7", gpu: "3" }, value: 0.98765, threshold: 0.99, rule: "R" };

  it("render labels, values and the formatting functions alerts use", () => {
    expect(
      compileTemplate('{{ $labels.gpu }}@{{ $labels.host }}: {{ $value | printf "%.2f" }}')(data),
    ).toBe("3@n7: 0.99");
    expect(compileTemplate("{{ $value | humanizePercentage }} < {{ $threshold }}")(data)).toBe(
      "98.765% < 0.99",
    );
    expect(compileTemplate("{{ $value | humanize }}")({ ...data, value: 1_834_000 })).toBe(
      "1.834M",
    );
    expect(compileTemplate("{{ $value | humanizeDuration }}")({ ...data, value: 3_725 })).toBe(
      "1h 2m 5s",
    );
    expect(compileTemplate("{{ $labels.missing }}|{{ $rule }}")(data)).toBe("|R");
  });
});

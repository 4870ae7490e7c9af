import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { relabel, relabelLabels } from "../../../pipelines/processors/relabel.js";

type Rules = Parameters<typeof relabelLabels>[0];
const rules = (given: object[]): Rules =>
  (relabel.config as unknown as z.ZodType<{ rules: Rules }>).parse({ rules: given }).rules;
const errorsOf = (given: object[]) => {
  const result = (relabel.config as z.ZodType).safeParse({ rules: given });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};
const ports = { __tmp_port: "1234", __port1: "1234", __port2: "5678" };

describe("relabelling as Prometheus 3", () => {
  it("keepequal keeps a sample whose source equals its target label, dropequal drops it", () => {
    const keep = (target: string) =>
      relabelLabels(
        rules([{ action: "keepequal", source_labels: ["__tmp_port"], target_label: target }]),
        ports,
      );
    const drop = (target: string) =>
      relabelLabels(
        rules([{ action: "dropequal", source_labels: ["__tmp_port"], target_label: target }]),
        ports,
      );
    expect(keep("__port1")).toEqual(ports);
    expect(keep("__port2")).toBeUndefined();
    expect(drop("__port1")).toBeUndefined();
    expect(drop("__port2")).toEqual(ports);
  });

  it("lowercase and uppercase write the joined source labels into the target", () => {
    expect(
      relabelLabels(
        rules([
          { action: "uppercase", source_labels: ["foo"], target_label: "up" },
          { action: "lowercase", source_labels: ["foo"], target_label: "down" },
        ]),
        { foo: "bAr123Foo" },
      ),
    ).toEqual({ foo: "bAr123Foo", up: "BAR123FOO", down: "bar123foo" });
  });

  it("replace may write a UTF-8 label name, and '.' matches a newline", () => {
    expect(
      relabelLabels(
        rules([
          {
            source_labels: ["a"],
            regex: "line1.*line2",
            target_label: "utf-8.label",
            replacement: "match",
          },
        ]),
        { a: "line1\nline2" },
      ),
    ).toEqual({ a: "line1\nline2", "utf-8.label": "match" });
  });

  it("refuses keepequal with a regex, and the new actions without a target label, naming the key", () => {
    expect(
      errorsOf([{ action: "keepequal", source_labels: ["a"], target_label: "b", regex: "x" }]),
    ).toEqual([
      "rules.0.regex: must be left out for action keepequal (it compares source_labels with target_label)",
    ]);
    expect(errorsOf([{ action: "lowercase", source_labels: ["a"] }])).toEqual([
      "rules.0.target_label: required for action lowercase",
    ]);
  });
});

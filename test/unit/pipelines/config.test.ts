import { describe, expect, it } from "vitest";
import { pipelineSettings } from "../../../pipelines/config.js";
import { loadConfig } from "../../../services/chassis/config.js";

describe("pipeline configuration", () => {
  it("checks every processor's configuration at start-up, naming the pipeline step and key", () => {
    const env = {
      VIGIL__PIPELINES:
        '[{name: clean, processors: [{validate: {maxAge: 1h}}, {relabel: {rules: [{action: replace, regex: "(.*)"}]}}]}]',
    };
    expect(() => loadConfig(pipelineSettings, { env })).toThrow(
      "processors[1].relabel.rules.0.target_label: required for action replace",
    );
  });

  it("names an unknown processor and lists the known ones", () => {
    const result = pipelineSettings.safeParse({
      pipelines: [{ name: "p", processors: [{ enrich: {} }] }],
    });
    expect(result.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      [
        "pipelines.0.processors.0",
        expect.stringMatching(/^unknown processor "enrich"; known: validate, normalize, relabel/),
      ],
    ]);
  });

  it("refuses two grouping pipelines that would re-key through one topic, naming the key", () => {
    const grouping = (name: string) => ({
      name,
      processors: [{ "window-aggregate": { groupBy: ["service"], size: "1m" } }],
    });
    const result = pipelineSettings.safeParse({
      pipelines: [grouping("a"), { name: "clean" }, grouping("b")],
    });
    expect(result.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      [
        "pipelines.2.repartition",
        "topic telemetry.metrics.repartition is already the repartition topic of pipeline a; give each grouping pipeline its own",
      ],
    ]);
  });
});

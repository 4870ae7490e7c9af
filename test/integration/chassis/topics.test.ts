import kafkajs from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ALL_TOPICS, type TopicSpec } from "../../../schemas/topics.js";
import { applyTopics, describeChange, planTopics } from "../../../services/cli/topics.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { waitFor } from "../../support/kafka.js";

const kafka = kafkaClient(inject("servers").kafka);
const admin = kafka.admin();

async function retention(topic: string): Promise<string | undefined> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ["retention.ms"] },
    ],
  });
  return described.resources[0]?.configEntries[0]?.configValue;
}

describe("topics apply", () => {
  const prefix = uniqueName("cat");
  const specs: TopicSpec[] = ALL_TOPICS.map((t) => ({ ...t, name: `${prefix}.${t.name}` }));

  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.deleteTopics({ topics: specs.map((s) => s.name) }).catch(() => undefined);
    await admin.disconnect();
  });

  it("creates the whole catalogue, then finds nothing to change on a second run", async () => {
    const first = await planTopics(admin, specs);
    expect(first.map((c) => c.kind)).toEqual(specs.map(() => "create"));
    await applyTopics(admin, first, 1);

    const second = await planTopics(admin, specs);
    expect(second.map(describeChange)).toEqual(specs.map((s) => `unchanged  ${s.name}`));

    const state = specs.find((s) => s.cleanupPolicy === "compact")!;
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: state.name,
          configNames: ["cleanup.policy"],
        },
      ],
    });
    expect(described.resources[0]!.configEntries[0]!.configValue).toBe("compact");
  });

  it("restores drifted retention, adds declared partitions and warns about surplus ones", async () => {
    const [alerts, raw, late] = [specs[6]!, specs[0]!, specs[3]!];
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: alerts.name,
          configEntries: [{ name: "retention.ms", value: "1000" }],
        },
      ],
    });
    // Config changes reach the broker through the metadata log, a moment after the call returns.
    await waitFor("the drift to be visible", async () => (await retention(alerts.name)) === "1000");
    const grown = specs.map((s) =>
      s === raw ? { ...s, partitions: s.partitions + 2 } : s === late ? { ...s, partitions: 1 } : s,
    );

    const plan = await planTopics(admin, grown);
    expect(plan.filter((c) => c.kind !== "unchanged").map(describeChange)).toEqual([
      `partitions ${raw.name}: ${raw.partitions} → ${raw.partitions + 2}`,
      `warning    ${late.name} has ${late.partitions} partitions, the catalogue declares 1; Kafka cannot remove partitions`,
      `config     ${alerts.name}: retention.ms 1000 → ${alerts.retentionMs}`,
    ]);
    await applyTopics(admin, plan, 1);
    await waitFor(
      "retention restored",
      async () => (await retention(alerts.name)) === String(alerts.retentionMs),
    );
    const after = await planTopics(admin, grown);
    expect(after.filter((c) => c.kind !== "unchanged").map((c) => c.kind)).toEqual(["warning"]);
  });
});

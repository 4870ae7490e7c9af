// Makes the broker's topics match the catalogue (schemas/topics.ts): creates missing topics,
// adds partitions, and sets retention and cleanup policy. Idempotent; a dry run only plans.
// Partitions are never removed (Kafka cannot), and a topic with more than declared is reported.
import { ConfigResourceTypes, type KafkaAdmin as Admin } from "../chassis/kafka.js";
import { topicConfig, type TopicSpec } from "../../schemas/topics.js";

export type TopicChange =
  | { kind: "create"; topic: string; partitions: number; config: Record<string, string> }
  | { kind: "add-partitions"; topic: string; from: number; to: number }
  | {
      kind: "set-config";
      topic: string;
      config: Record<string, string>;
      was: Record<string, string | undefined>;
    }
  | { kind: "unchanged"; topic: string }
  | { kind: "warning"; topic: string; message: string };

// A CommonJS export that Node's ESM loader does not detect by name.

async function currentConfig(
  admin: Admin,
  topic: string,
  names: string[],
): Promise<Record<string, string>> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
  });
  const entries = described.resources[0]?.configEntries ?? [];
  return Object.fromEntries(entries.map((e) => [e.configName, e.configValue]));
}

export async function planTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
): Promise<TopicChange[]> {
  const existing = new Set(await admin.listTopics());
  const present = specs.filter((s) => existing.has(s.name)).map((s) => s.name);
  const metadata =
    present.length > 0 ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
  const partitionsOf = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));

  const changes: TopicChange[] = [];
  for (const spec of specs) {
    const wanted = topicConfig(spec);
    if (!existing.has(spec.name)) {
      changes.push({
        kind: "create",
        topic: spec.name,
        partitions: spec.partitions,
        config: wanted,
      });
      continue;
    }
    let changed = false;
    const partitions = partitionsOf.get(spec.name) ?? 0;
    if (partitions < spec.partitions) {
      changes.push({
        kind: "add-partitions",
        topic: spec.name,
        from: partitions,
        to: spec.partitions,
      });
      changed = true;
    } else if (partitions > spec.partitions) {
      changes.push({
        kind: "warning",
        topic: spec.name,
        message: `has ${partitions} partitions, the catalogue declares ${spec.partitions}; Kafka cannot remove partitions`,
      });
    }
    const actual = await currentConfig(admin, spec.name, Object.keys(wanted));
    const differs = Object.entries(wanted).some(([key, value]) => actual[key] !== value);
    if (differs) {
      const was = Object.fromEntries(Object.keys(wanted).map((key) => [key, actual[key]]));
      changes.push({ kind: "set-config", topic: spec.name, config: wanted, was });
      changed = true;
    }
    if (!changed) changes.push({ kind: "unchanged", topic: spec.name });
  }
  return changes;
}

export async function applyTopics(
  admin: Admin,
  changes: TopicChange[],
  replicationFactor: number,
): Promise<void> {
  const creates = changes.filter((c) => c.kind === "create");
  if (creates.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: creates.map((c) => ({
        topic: c.topic,
        numPartitions: c.partitions,
        replicationFactor,
        configEntries: Object.entries(c.config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const grows = changes.filter((c) => c.kind === "add-partitions");
  if (grows.length > 0) {
    await admin.createPartitions({
      topicPartitions: grows.map((c) => ({ topic: c.topic, count: c.to })),
    });
  }
  const configs = changes.filter((c) => c.kind === "set-config");
  if (configs.length > 0) {
    await admin.alterConfigs({
      validateOnly: false,
      resources: configs.map((c) => ({
        type: ConfigResourceTypes.TOPIC,
        name: c.topic,
        configEntries: Object.entries(c.config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
}

export function describeChange(change: TopicChange): string {
  switch (change.kind) {
    case "create":
      return `create     ${change.topic} (${change.partitions} partitions, ${formatConfig(change.config)})`;
    case "add-partitions":
      return `partitions ${change.topic}: ${change.from} → ${change.to}`;
    case "set-config":
      return `config     ${change.topic}: ${Object.entries(change.config)
        .filter(([key, value]) => change.was[key] !== value)
        .map(([key, value]) => `${key} ${change.was[key] ?? "(unset)"} → ${value}`)
        .join(", ")}`;
    case "unchanged":
      return `unchanged  ${change.topic}`;
    case "warning":
      return `warning    ${change.topic} ${change.message}`;
  }
}

function formatConfig(config: Record<string, string>): string {
  return Object.entries(config)
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
}

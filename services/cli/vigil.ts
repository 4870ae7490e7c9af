// The one Vigil command line: `npm run vigil -- --help` lists every subcommand.
import { parseArgs } from "node:util";

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= "1";
import { ALL_TOPICS } from "../../schemas/topics.js";
import { loadConfig } from "../chassis/config.js";
import { createKafka } from "../chassis/kafka.js";
import { createLogger } from "../chassis/logger.js";
import { createMetrics } from "../chassis/metrics.js";
import { createProducer } from "../chassis/producer.js";
import { baseSettings } from "../chassis/settings.js";
import { scaffold } from "../../pipelines/scaffold.js";
import { replayDeadLetters } from "./replay.js";
import { alertingCommand } from "./alerting.js";
import { checkRules, testRules } from "./rules.js";
import { showStatus, start, stop, tailAlerts } from "./running.js";
import { applyTopics, describeChange, planTopics } from "./topics.js";

const usage = `vigil — the Vigil command line (npm run vigil -- <command>, or npx tsx services/cli/vigil.ts)

Running Vigil
  start                  the whole pipeline on this machine, with a live view (what npm start does)
  stop                   stop what \`vigil start\` started
  status                 the local stack's servers and the running services' readiness

Kafka
  topics apply [--dry-run] [--replication-factor N]   make the broker match the topic catalogue
  topics list                                         the catalogue: schema, key, partitions, retention
  dlq replay [--topic T] [--code C] [--stage S] [--since 2026-11-25T10:00:00Z] [--dry-run]
                         send dead letters back to their topics (alias: deadletter replay)

Alerting
  rules test FILE...     run rule unit tests, promtool style (e.g. pipelines/rules/builtin.rules.test.yaml)
  rules check FILE...    validate rule files
  alerts tail [--from-beginning]                      print alert events as they arrive
  silence add --matchers 'alertname="GpuHot", host=~"gpu-.*"' --duration 2h --author you --comment why
  silence list [--all]   active and pending silences (--all: expired too)
  silence expire ID
  ack FINGERPRINT --author you [--comment text]

Development
  processor new <name> [--stateful]                   scaffold a processor, its fixtures and registration

Kafka settings come from the service configuration (VIGIL_CONFIG file, VIGIL__KAFKA__BROKERS=…).`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      "dry-run": { type: "boolean", default: false },
      "replication-factor": { type: "string", default: "1" },
      topic: { type: "string" },
      code: { type: "string" },
      stage: { type: "string" },
      since: { type: "string" },
      stateful: { type: "boolean", default: false },
      matchers: { type: "string" },
      duration: { type: "string" },
      author: { type: "string" },
      comment: { type: "string" },
      all: { type: "boolean", default: false },
      "from-beginning": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help || positionals[0] === "help" || positionals.length === 0) {
    console.log(usage);
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  if (positionals[0] === "dlq") positionals[0] = "deadletter";
  if (positionals[0] === "start") return start();
  if (positionals[0] === "stop") return stop();
  if (positionals[0] === "status") return showStatus();
  const command = positionals.slice(0, 2).join(" ");
  if (command === "processor new") {
    const files = scaffold(positionals[2] ?? "", values.stateful);
    console.log(
      `wrote ${files.join(", ")}\nnext: write the processor, its fixture cases, and run npm test`,
    );
    return 0;
  }
  if (command === "rules test" || command === "rules check") {
    const files = positionals.slice(2);
    if (files.length === 0) {
      console.error(usage);
      return 2;
    }
    return command === "rules test" ? testRules(files) : checkRules(files);
  }
  if (command === "topics list") {
    for (const t of ALL_TOPICS) {
      console.log(
        `${t.name}\n  ${t.description}\n  schema ${t.subject}; key: ${t.key}; ${t.partitions} partitions; ${t.cleanupPolicy}, retention.ms=${t.retentionMs}`,
      );
    }
    return 0;
  }
  const alerting = positionals[0] === "silence" || positionals[0] === "ack";
  const tail = command === "alerts tail";
  if (command !== "topics apply" && command !== "deadletter replay" && !alerting && !tail) {
    console.error(usage);
    return 2;
  }
  const settings = loadConfig(baseSettings);
  const logger = createLogger("vigil-cli", "warn");
  const kafka = createKafka(settings.kafka, "vigil-cli", logger);
  const dryRun = values["dry-run"];

  if (alerting) return alertingCommand(kafka, positionals, values, usage);
  if (tail) return tailAlerts(kafka, values["from-beginning"]);

  if (command === "topics apply") {
    const replicationFactor = Number(values["replication-factor"]);
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
      console.error(
        `--replication-factor: expected a positive integer, got "${values["replication-factor"]}"`,
      );
      return 2;
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const changes = await planTopics(admin, ALL_TOPICS);
      for (const change of changes)
        console.log(`${dryRun ? "[dry run] " : ""}${describeChange(change)}`);
      if (!dryRun) await applyTopics(admin, changes, replicationFactor);
      const count = changes.filter((c) => c.kind !== "unchanged" && c.kind !== "warning").length;
      console.log(
        `${count} change(s) ${dryRun ? "planned" : "applied"} on ${settings.kafka.brokers.join(",")}`,
      );
    } finally {
      await admin.disconnect();
    }
    return 0;
  }

  const since = values.since === undefined ? undefined : Date.parse(values.since);
  if (since !== undefined && Number.isNaN(since)) {
    console.error(`--since: expected an ISO time like 2026-11-25T10:00:00Z, got "${values.since}"`);
    return 2;
  }
  const producer = createProducer(kafka, createMetrics("vigil-cli"));
  await producer.connect();
  try {
    const result = await replayDeadLetters({
      kafka,
      producer,
      deadLetterTopic: settings.topics.deadLetter,
      dryRun,
      filter: {
        ...(values.topic && { topic: values.topic }),
        ...(values.code && { code: values.code }),
        ...(values.stage && { stage: values.stage }),
        ...(since !== undefined && { since }),
      },
    });
    console.log(
      `${dryRun ? "[dry run] would replay" : "replayed"} ${result.replayed} of ${result.scanned} dead letters`,
    );
    for (const [topic, n] of Object.entries(result.byTopic)) console.log(`  ${topic}: ${n}`);
    if (result.byReference > 0)
      console.log(
        `  ${result.byReference} letter(s) too large to hold their record: it is still at the letter's originalTopic / partition / offset`,
      );
  } finally {
    await producer.disconnect();
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);

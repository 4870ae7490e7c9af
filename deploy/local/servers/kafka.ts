// Apache Kafka 4 in KRaft combined mode (one broker that is also the controller), from the jars
// Maven Central publishes. Topic auto-creation is off: topics come from Vigil's own catalogue.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { HOST, type StackConfig } from "../config.js";
import type { Jdk } from "../java.js";
import { launch } from "../process.js";
import { runStep } from "../progress.js";
import { serverFiles, type LocalServer } from "../server.js";

export const KAFKA_VERSION = "4.1.1";

const pom = join(dirname(fileURLToPath(import.meta.url)), "..", "kafka", "pom.xml");

/** A cluster id as Kafka's own `Uuid.randomUuid()` makes them: 16 random bytes, base64url. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

export function kafkaServer(config: StackConfig, findJdk: () => Jdk): LocalServer {
  const { port, controllerPort, heap } = config.kafka;
  const files = serverFiles(config.stateDir, "kafka");
  const libs = join(config.cacheDir, `kafka-${KAFKA_VERSION}`, "libs");
  const dataDir = join(files.dir, "data");
  const properties = join(files.dir, "server.properties");
  const classpath = join(libs, "*");
  const endpoint = `${HOST}:${port}`;

  return {
    name: "kafka",
    version: KAFKA_VERSION,
    endpoint,
    ports: [
      { key: "VIGIL_KAFKA_PORT", port },
      { key: "VIGIL_KAFKA_CONTROLLER_PORT", port: controllerPort },
    ],
    ...files,
    marker: properties,

    async provision() {
      if (existsSync(join(libs, ".complete"))) return;
      await runStep({
        label: `kafka: fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central`,
        command: "mvn",
        args: [
          "-B",
          "-f",
          pom,
          `-Dkafka.version=${KAFKA_VERSION}`,
          "dependency:copy-dependencies",
          `-DoutputDirectory=${libs}`,
        ],
        progressLine: /Downloaded from/,
        env: { JAVA_HOME: findJdk().home },
      });
      writeFileSync(join(libs, ".complete"), `${new Date().toISOString()}\n`);
    },

    async prepare() {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(
        properties,
        [
          "# Written by `npm run stack -- up`; edits are overwritten.",
          "process.roles=broker,controller",
          "node.id=1",
          `controller.quorum.voters=1@${HOST}:${controllerPort}`,
          `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
          `advertised.listeners=PLAINTEXT://${endpoint}`,
          "controller.listener.names=CONTROLLER",
          "inter.broker.listener.name=PLAINTEXT",
          "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
          `log.dirs=${dataDir}`,
          "auto.create.topics.enable=false",
          "num.partitions=1",
          "offsets.topic.replication.factor=1",
          "offsets.topic.num.partitions=12",
          "transaction.state.log.replication.factor=1",
          "transaction.state.log.min.isr=1",
          "share.coordinator.state.topic.replication.factor=1",
          "share.coordinator.state.topic.min.isr=1",
          "group.initial.rebalance.delay.ms=0",
          "",
        ].join("\n"),
      );
      if (existsSync(join(dataDir, "meta.properties"))) return;
      await runStep({
        label: "kafka: formatting KRaft storage",
        command: findJdk().java,
        args: [
          "-cp",
          classpath,
          "kafka.tools.StorageTool",
          "format",
          "-t",
          clusterId(),
          "-c",
          properties,
        ],
      });
    },

    start() {
      return launch({
        command: findJdk().java,
        args: [
          "-Xms128m",
          `-Xmx${heap}`,
          "-XX:+UseG1GC",
          "-Djava.awt.headless=true",
          "-Dorg.slf4j.simpleLogger.showDateTime=true",
          "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
          "-cp",
          classpath,
          "kafka.Kafka",
          properties,
        ],
        cwd: files.dir,
        ...files,
      });
    },

    async healthy() {
      const admin = new Kafka({
        clientId: "vigil-stack-probe",
        brokers: [endpoint],
        connectionTimeout: 1_000,
        requestTimeout: 2_000,
        retry: { retries: 0 },
        logLevel: logLevel.NOTHING,
      }).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0;
      } catch {
        return false;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}

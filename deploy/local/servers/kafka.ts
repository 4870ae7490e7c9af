// Apache Kafka 4 in KRaft combined mode (one broker that is also the controller), from the jars
// Maven Central publishes. Topic auto-creation is off: topics come from Vigil's own catalogue.
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { plainKafka } from "../../../services/chassis/kafka.js";
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

export const SCRAM_USER = "vigil";

export interface KafkaTls {
  keystore: string;
  storePassword: string;
  /** PEM of the broker's self-signed certificate: the CA a client trusts. */
  caFile: string;
  /** The SCRAM user's password, in a file (mode 600). */
  passwordFile: string;
  scramPassword: string;
}

/**
 * The secure listener's material under `<dir>/tls`, made once with the JDK's keytool: a PKCS12
 * keystore with a self-signed certificate for localhost / 127.0.0.1, its PEM (clients' CA), and
 * generated passwords for the store and the SCRAM user.
 */
export function ensureTls(dir: string, javaHome: string): KafkaTls {
  const tls = join(dir, "tls");
  mkdirSync(tls, { recursive: true, mode: 0o700 });
  const secret = (name: string) => {
    const file = join(tls, name);
    if (!existsSync(file))
      writeFileSync(file, randomBytes(18).toString("base64url"), { mode: 0o600 });
    return { file, value: readFileSync(file, "utf8").trim() };
  };
  const store = secret("store-password");
  const scram = secret("scram-password");
  const keystore = join(tls, "broker.p12");
  const caFile = join(tls, "ca.pem");
  const keytool = join(javaHome, "bin", "keytool");
  if (!existsSync(keystore)) {
    const common = ["-keystore", keystore, "-storetype", "PKCS12", "-storepass", store.value];
    execFileSync(
      keytool,
      [
        "-genkeypair",
        "-alias",
        "broker",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-validity",
        "3650",
        "-dname",
        "CN=localhost",
        "-ext",
        "SAN=dns:localhost,ip:127.0.0.1",
        "-keypass",
        store.value,
        ...common,
      ],
      { stdio: "ignore" },
    );
    execFileSync(keytool, ["-exportcert", "-rfc", "-alias", "broker", "-file", caFile, ...common], {
      stdio: "ignore",
    });
  }
  return {
    keystore,
    storePassword: store.value,
    caFile,
    passwordFile: scram.file,
    scramPassword: scram.value,
  };
}

/** One KRaft node (broker and controller in one process). */
interface KafkaNode {
  name: string;
  id: number;
  port: number;
  controllerPort: number;
  /** The SASL_SSL listener: the single-node stack has one; the three-node cluster does not. */
  securePort?: number;
  /** `id@host:port` of every controller in the quorum. */
  voters: string;
  /** Replication of Kafka's own topics and the default for new ones (1, or 3 in the cluster). */
  replication: number;
  /** A file every node of one cluster shares its id through. */
  clusterIdFile: string;
  ports: LocalServer["ports"];
}

/** The single-node stack: `npm run stack -- up`. */
export function kafkaServer(config: StackConfig, findJdk: () => Jdk): LocalServer {
  const { port, controllerPort, securePort } = config.kafka;
  return kafkaNodeServer(config, findJdk, {
    name: "kafka",
    id: 1,
    port,
    controllerPort,
    securePort,
    voters: `1@${HOST}:${controllerPort}`,
    replication: 1,
    clusterIdFile: join(config.stateDir, "kafka", "cluster-id"),
    ports: [
      { key: "VIGIL_KAFKA_PORT", port },
      { key: "VIGIL_KAFKA_CONTROLLER_PORT", port: controllerPort },
      { key: "VIGIL_KAFKA_SECURE_PORT", port: securePort },
    ],
  });
}

/**
 * A three-node KRaft cluster (`npm run stack -- up --brokers 3`): node n listens on
 * VIGIL_KAFKA_CLUSTER_PORT + 10·(n−1) and its controller one above; replication 3 with at least 2
 * in sync, so any one node may die without losing an acknowledged record.
 */
export function kafkaClusterServers(config: StackConfig, findJdk: () => Jdk): LocalServer[] {
  const nodes = [1, 2, 3].map((id) => ({
    id,
    port: config.kafka.clusterPort + 10 * (id - 1),
    controllerPort: config.kafka.clusterPort + 10 * (id - 1) + 1,
  }));
  const voters = nodes.map((n) => `${n.id}@${HOST}:${n.controllerPort}`).join(",");
  return nodes.map((n) =>
    kafkaNodeServer(config, findJdk, {
      name: `kafka-${n.id}`,
      id: n.id,
      port: n.port,
      controllerPort: n.controllerPort,
      voters,
      replication: 3,
      clusterIdFile: join(config.stateDir, "kafka-cluster-id"),
      ports: [
        { key: `VIGIL_KAFKA_CLUSTER_PORT (node ${n.id})`, port: n.port },
        { key: `VIGIL_KAFKA_CLUSTER_PORT (node ${n.id} controller)`, port: n.controllerPort },
      ],
    }),
  );
}

/** The cluster's id: made once, read by every node that formats its storage. */
function sharedClusterId(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, clusterId());
  }
  return readFileSync(file, "utf8").trim();
}

function kafkaNodeServer(config: StackConfig, findJdk: () => Jdk, node: KafkaNode): LocalServer {
  const { heap } = config.kafka;
  const { port, controllerPort, securePort } = node;
  const files = serverFiles(config.stateDir, node.name);
  const libs = join(config.cacheDir, `kafka-${KAFKA_VERSION}`, "libs");
  const dataDir = join(files.dir, "data");
  const properties = join(files.dir, "server.properties");
  const classpath = join(libs, "*");
  const endpoint = `${HOST}:${port}`;
  const minIsr = Math.min(2, node.replication);

  return {
    name: node.name,
    version: KAFKA_VERSION,
    endpoint,
    ports: node.ports,
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
      const secure =
        securePort === undefined
          ? []
          : (() => {
              const tls = ensureTls(files.dir, findJdk().home);
              return [
                // The secure listener: SCRAM-SHA-512 over TLS with a certificate keytool made.
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
                `ssl.keystore.location=${tls.keystore}`,
                "ssl.keystore.type=PKCS12",
                `ssl.keystore.password=${tls.storePassword}`,
                `ssl.key.password=${tls.storePassword}`,
              ];
            })();
      const extra = securePort === undefined ? "" : `,SASL_SSL://${HOST}:${securePort}`;
      writeFileSync(
        properties,
        [
          "# Written by `npm run stack -- up`; edits are overwritten.",
          "process.roles=broker,controller",
          `node.id=${node.id}`,
          `controller.quorum.voters=${node.voters}`,
          `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}${extra}`,
          `advertised.listeners=PLAINTEXT://${endpoint}${extra}`,
          "controller.listener.names=CONTROLLER",
          "inter.broker.listener.name=PLAINTEXT",
          "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
          ...secure,
          `log.dirs=${dataDir}`,
          "auto.create.topics.enable=false",
          "num.partitions=1",
          `default.replication.factor=${node.replication}`,
          `min.insync.replicas=${minIsr}`,
          `offsets.topic.replication.factor=${node.replication}`,
          "offsets.topic.num.partitions=12",
          `transaction.state.log.replication.factor=${node.replication}`,
          `transaction.state.log.min.isr=${minIsr}`,
          `share.coordinator.state.topic.replication.factor=${node.replication}`,
          `share.coordinator.state.topic.min.isr=${minIsr}`,
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
          sharedClusterId(node.clusterIdFile),
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

    // The SCRAM user of the secure listener: added once per storage (a marker in the data
    // directory), through Kafka's own ConfigCommand against the plaintext listener.
    async afterHealthy() {
      if (securePort === undefined) return;
      const marker = join(dataDir, ".scram-user");
      if (existsSync(marker)) return;
      const tls = ensureTls(files.dir, findJdk().home);
      await runStep({
        label: `kafka: adding SCRAM-SHA-512 user ${SCRAM_USER} for the SASL_SSL listener`,
        command: findJdk().java,
        args: [
          "-cp",
          classpath,
          "kafka.admin.ConfigCommand",
          "--bootstrap-server",
          endpoint,
          "--alter",
          "--entity-type",
          "users",
          "--entity-name",
          SCRAM_USER,
          "--add-config",
          `SCRAM-SHA-512=[iterations=8192,password=${tls.scramPassword}]`,
        ],
        // Kafka's ConfigCommand quotes the credential back when it refuses it.
        secrets: [tls.scramPassword],
      });
      writeFileSync(marker, `${new Date().toISOString()}\n`);
    },

    async healthy() {
      const admin = plainKafka([endpoint], "vigil-stack-probe", {
        quiet: true,
        probe: true,
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

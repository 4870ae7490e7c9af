// Where a Docker engine answers, testcontainers starts whichever servers the environment did
// not name. Our own machines have no Docker engine; there the local stack is used instead.
import { KafkaContainer } from "@testcontainers/kafka";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import type { ElasticsearchEndpoint, InfluxEndpoint, KafkaEndpoint, Resolved } from "./servers.js";

interface Given {
  kafka: KafkaEndpoint | undefined;
  influx: InfluxEndpoint | undefined;
  elasticsearch: ElasticsearchEndpoint | undefined;
}

const origin = "testcontainers" as const;

export async function startContainers(given: Given): Promise<Resolved> {
  const started: StartedTestContainer[] = [];
  const stop = async () =>
    void (await Promise.all(started.map((c) => c.stop().catch(() => undefined))));

  async function kafka(): Promise<KafkaEndpoint> {
    const c = await new KafkaContainer("confluentinc/cp-kafka:7.9.0").withKraft().start();
    started.push(c);
    return { brokers: [`${c.getHost()}:${c.getMappedPort(9093)}`], ssl: false, origin };
  }
  async function influx(): Promise<InfluxEndpoint> {
    const c = await new GenericContainer("influxdb:1.8.10")
      .withEnvironment({ INFLUXDB_HTTP_FLUX_ENABLED: "true", INFLUXDB_REPORTING_DISABLED: "true" })
      .withExposedPorts(8086)
      .withWaitStrategy(Wait.forHttp("/ping", 8086).forStatusCode(204))
      .start();
    started.push(c);
    return { url: `http://${c.getHost()}:${c.getMappedPort(8086)}`, token: "", org: "", origin };
  }
  async function elasticsearch(): Promise<ElasticsearchEndpoint> {
    const c = await new GenericContainer("docker.elastic.co/elasticsearch/elasticsearch:8.19.21")
      .withEnvironment({
        "discovery.type": "single-node",
        "xpack.security.enabled": "false",
        ES_JAVA_OPTS: "-Xms512m -Xmx512m",
      })
      .withExposedPorts(9200)
      .withWaitStrategy(Wait.forHttp("/_cluster/health", 9200).forStatusCode(200))
      .withStartupTimeout(180_000)
      .start();
    started.push(c);
    return { url: `http://${c.getHost()}:${c.getMappedPort(9200)}`, origin };
  }

  try {
    const servers = {
      kafka: given.kafka ?? (await kafka()),
      influx: given.influx ?? (await influx()),
      elasticsearch: given.elasticsearch ?? (await elasticsearch()),
    };
    return { servers, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

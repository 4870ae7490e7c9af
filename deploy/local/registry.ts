// The servers of the local stack, in start order. Adding one means one file in servers/ and
// one line here.
import type { StackConfig } from "./config.js";
import { findJdk, type Jdk } from "./java.js";
import type { LocalServer } from "./server.js";
import { elasticsearchServer } from "./servers/elasticsearch.js";
import { influxdbServer } from "./servers/influxdb.js";
import { kafkaClusterServers, kafkaServer } from "./servers/kafka.js";

export function localServers(config: StackConfig): LocalServer[] {
  // Found on first use only, so `down` and `status` work on a machine without Java.
  let jdk: Jdk | undefined;
  const java = () => (jdk ??= findJdk());
  const kafka =
    config.kafka.nodes === 3 ? kafkaClusterServers(config, java) : [kafkaServer(config, java)];
  return [...kafka, influxdbServer(config), elasticsearchServer(config, java)];
}

/** Every server either layout may have started: what `down` stops and `status` shows. */
export function everyLocalServer(config: StackConfig): LocalServer[] {
  const single = localServers({ ...config, kafka: { ...config.kafka, nodes: 1 } });
  const cluster = localServers({ ...config, kafka: { ...config.kafka, nodes: 3 } });
  return [single[0]!, ...cluster.slice(0, 3), ...single.slice(1)];
}

// The servers of the local stack, in start order. Adding one means one file in servers/ and
// one line here.
import type { StackConfig } from "./config.js";
import { findJdk, type Jdk } from "./java.js";
import type { LocalServer } from "./server.js";
import { elasticsearchServer } from "./servers/elasticsearch.js";
import { influxdbServer } from "./servers/influxdb.js";
import { kafkaServer } from "./servers/kafka.js";

export function localServers(config: StackConfig): LocalServer[] {
  // Found on first use only, so `down` and `status` work on a machine without Java.
  let jdk: Jdk | undefined;
  const java = () => (jdk ??= findJdk());
  return [kafkaServer(config, java), influxdbServer(config), elasticsearchServer(config, java)];
}

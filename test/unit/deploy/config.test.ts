import { describe, expect, it } from "vitest";
import { ConfigError, loadStackConfig } from "../../../deploy/local/config.js";

describe("local stack configuration", () => {
  it("defaults to ports off the standard ones so a developer's own servers are undisturbed", () => {
    const config = loadStackConfig({});
    expect([config.kafka.port, config.influxdb.port, config.elasticsearch.port]).toEqual([
      19092, 18086, 19200,
    ]);
  });

  it("takes ports, heap sizes and directories from the environment", () => {
    const config = loadStackConfig({
      VIGIL_KAFKA_PORT: "29092",
      VIGIL_ES_HEAP: "1g",
      VIGIL_STATE_DIR: "/tmp/vigil-state",
      VIGIL_CACHE_DIR: "/tmp/vigil-cache",
    });
    expect(config.kafka.port).toBe(29092);
    expect(config.elasticsearch.heap).toBe("1g");
    expect(config.stateDir).toBe("/tmp/vigil-state");
    expect(config.cacheDir).toBe("/tmp/vigil-cache");
  });

  it("rejects a bad port with an error naming the variable", () => {
    expect(() => loadStackConfig({ VIGIL_INFLUX_PORT: "80" })).toThrow(
      new ConfigError('VIGIL_INFLUX_PORT: expected a port number between 1024 and 65535, got "80"'),
    );
    expect(() => loadStackConfig({ VIGIL_KAFKA_PORT: "kafka" })).toThrow(/^VIGIL_KAFKA_PORT: /);
  });

  it("rejects two servers on the same port, naming both variables", () => {
    expect(() => loadStackConfig({ VIGIL_ES_PORT: "19092" })).toThrow(
      "VIGIL_ES_PORT: port 19092 is already taken by VIGIL_KAFKA_PORT",
    );
  });

  it("rejects a heap outside 256m..1g, naming the variable", () => {
    expect(() => loadStackConfig({ VIGIL_ES_HEAP: "4g" })).toThrow(
      /^VIGIL_ES_HEAP: expected a JVM heap size/,
    );
    expect(() => loadStackConfig({ VIGIL_KAFKA_HEAP: "lots" })).toThrow(/^VIGIL_KAFKA_HEAP: /);
  });

  it("rejects a non-positive start timeout", () => {
    expect(() => loadStackConfig({ VIGIL_STACK_TIMEOUT_S: "0" })).toThrow(
      /^VIGIL_STACK_TIMEOUT_S: /,
    );
  });
});

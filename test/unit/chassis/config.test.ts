import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../services/chassis/config.js";
import { baseSettings, consumerSettings, readSecret } from "../../../services/chassis/settings.js";

const schema = baseSettings.extend({ consumer: consumerSettings });
const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "vigil-config-")), "service.yaml");
  writeFileSync(path, text);
  return path;
};

describe("service configuration", () => {
  it("merges defaults, the file and the environment, the environment winning", () => {
    const path = file(
      "consumer:\n  groupId: sink\n  topics: [telemetry.metrics.clean]\n  concurrency: 2\n",
    );
    const config = loadConfig(schema, {
      file: path,
      env: { VIGIL__CONSUMER__CONCURRENCY: "8", VIGIL__KAFKA__BROKERS: "k1:9092,k2:9092" },
    });
    expect(config.consumer).toMatchObject({
      groupId: "sink",
      topics: ["telemetry.metrics.clean"],
      concurrency: 8,
      sessionTimeout: 30_000,
    });
    expect(config.kafka.brokers).toEqual(["k1:9092", "k2:9092"]);
    expect(config.http).toEqual({ host: "127.0.0.1", port: 9464 });
  });

  it("rejects an unknown key in the file, naming the key and the file", () => {
    const path = file("consumer:\n  groupId: sink\n  topics: [t]\n  concurency: 2\n");
    expect(() => loadConfig(schema, { file: path, env: {} })).toThrow(
      `consumer.concurency (in ${path}): unknown key`,
    );
  });

  it("rejects a bad value from the environment, naming the variable", () => {
    const env = {
      VIGIL__CONSUMER__GROUP_ID: "g",
      VIGIL__CONSUMER__TOPICS: "[t]",
      VIGIL__CONSUMER__SESSION_TIMEOUT: "soon",
    };
    expect(() => loadConfig(schema, { env })).toThrow(
      'consumer.sessionTimeout (from VIGIL__CONSUMER__SESSION_TIMEOUT): expected a duration like "30s", "5m" or "250ms", got "soon"',
    );
  });

  it("names every missing required key at once", () => {
    const error = (() => {
      try {
        loadConfig(schema, { env: {} });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.code).toBe("VGL_CONFIG_INVALID");
    expect(error?.message).toMatch(/consumer: /);
  });

  it("rejects a broker without a port", () => {
    expect(() =>
      loadConfig(schema, {
        env: {
          VIGIL__KAFKA__BROKERS: "kafka.internal",
          VIGIL__CONSUMER__GROUP_ID: "g",
          VIGIL__CONSUMER__TOPICS: "[t]",
        },
      }),
    ).toThrow(
      /kafka\.brokers\.0 \(from VIGIL__KAFKA__BROKERS\)|kafka\.brokers\.0: expected "host:port"/,
    );
  });

  it("takes secrets by reference only, from a variable or a file", () => {
    const path = file("s3cret\n");
    expect(readSecret({ file: path })).toBe("s3cret");
    expect(readSecret({ env: "KAFKA_PASSWORD" }, { KAFKA_PASSWORD: "p" })).toBe("p");
    const inline = {
      VIGIL__KAFKA__SASL__MECHANISM: "plain",
      VIGIL__KAFKA__SASL__USERNAME: "u",
      VIGIL__KAFKA__SASL__PASSWORD: "hunter2",
    };
    expect(() => loadConfig(baseSettings, { env: inline })).toThrow(
      /kafka\.sasl\.password \(from VIGIL__KAFKA__SASL__PASSWORD\)/,
    );
  });
});

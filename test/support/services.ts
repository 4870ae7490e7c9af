// An in-process service on the real chassis, consuming metric batches, for integration tests.
import { decode } from "../../schemas/codec.js";
import type { MetricBatch } from "../../schemas/types.js";
import type { BatchHandler } from "../../services/chassis/processing-loop.js";
import { startService, type Service } from "../../services/chassis/service.js";
import { baseSettings, consumerSettings } from "../../services/chassis/settings.js";
import type { KafkaEndpoint } from "./servers.js";

/** Chassis settings shared by every in-process service under test: our broker, any free port, quiet logs. */
export function chassisFor(kafka: KafkaEndpoint, deadLetter?: string) {
  return {
    kafka: { brokers: kafka.brokers },
    http: { port: 0 },
    log: { level: (process.env.VIGIL_TEST_LOG ?? "silent") as "silent" },
    ...(deadLetter !== undefined && { topics: { deadLetter } }),
  };
}

export interface TestServiceOptions {
  name: string;
  kafka: KafkaEndpoint;
  input: string;
  deadLetter: string;
  groupId: string;
  handler: BatchHandler<MetricBatch>;
  /** Consumer settings beyond group and topics; a short session keeps rebalances quick. */
  consumer?: Record<string, unknown>;
}

export function startTestService(options: TestServiceOptions): Promise<Service> {
  return startService<MetricBatch>({
    name: options.name,
    settings: baseSettings.parse(chassisFor(options.kafka, options.deadLetter)),
    consume: {
      settings: consumerSettings.parse({
        groupId: options.groupId,
        topics: [options.input],
        sessionTimeout: "6s",
        ...options.consumer,
      }),
      decode: (_topic, value) => decode("metric-batch", value),
      handler: options.handler,
    },
  });
}

// A kafkajs client from validated settings, logging through pino.
import { Kafka, logLevel, type LogEntry, type SASLOptions } from "kafkajs";
import type { Logger } from "./logger.js";
import { readSecret, type KafkaSettings } from "./settings.js";

const levels: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

export function createKafka(settings: KafkaSettings, clientId: string, logger: Logger): Kafka {
  const log = logger.child({ component: "kafkajs" });
  const sasl =
    settings.sasl &&
    ({ ...settings.sasl, password: readSecret(settings.sasl.password) } as SASLOptions);
  return new Kafka({
    clientId: settings.clientId ?? clientId,
    brokers: settings.brokers,
    ssl: settings.ssl,
    ...(sasl && { sasl }),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[levels[level] ?? "info"](rest, message);
      },
  });
}

// What a standby replica answers reads from. Only the active notifier groups and sends; behind a
// load balancer (as amtool, Karma and Grafana reach an Alertmanager) every replica must still say
// what fires. A standby follows what the active one makes durable — the alerts' compacted state
// and the notification log — into a dispatcher of its own that is never ticked: its alerts,
// groups, silences, inhibitions and time mutes are the active one's, its deliveries none.
import { randomUUID } from "node:crypto";
import type { KafkaClient as Kafka } from "../chassis/kafka.js";
import { decode } from "../../schemas/codec.js";
import type { Logger } from "../chassis/logger.js";
import { Dispatcher } from "./dispatcher.js";
import type { Alerting } from "./settings.js";
import { NotificationLog, type Acks, type Silences } from "./stores.js";

export interface StandbyView {
  /** The dispatcher to read from, settled as of `now` (API-posted alerts past endsAt resolved). */
  read(now: number): Dispatcher;
  reconfigure(alerting: Alerting, now: number): void;
  stop(): Promise<void>;
}

export async function followActive(options: {
  kafka: Kafka;
  name: string;
  topics: { alertsState: string; log: string };
  alerting: Alerting;
  silences: Silences;
  acks: Acks;
  externalUrl: string;
  logger: Logger;
  now: () => number;
}): Promise<StandbyView> {
  const { kafka, topics, logger, now } = options;
  const log = new NotificationLog();
  const never = () => Promise.reject(new Error("a standby view sends nothing"));
  const mirror = new Dispatcher(options.alerting, {
    log,
    silences: options.silences,
    acks: options.acks,
    deliver: never,
    record: never,
    externalUrl: options.externalUrl,
    logger,
  });
  const consumer = kafka.consumer({
    groupId: `vigil-notifier-view-${options.name}-${randomUUID()}`,
    maxWaitTimeInMs: 250,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.alertsState, topics.log], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      if (!message.value) return;
      try {
        if (topic === topics.log) log.apply(decode("notification-log", message.value));
        else mirror.insert(decode("alert", message.value), now());
      } catch (error) {
        logger.warn(
          { err: error, topic, partition, offset: message.offset },
          "unreadable record skipped",
        );
      }
    },
  });
  return {
    read(at) {
      mirror.settleAll(at);
      return mirror;
    },
    reconfigure: (alerting, at) => mirror.reconfigure(alerting, at),
    stop: () => consumer.disconnect(),
  };
}

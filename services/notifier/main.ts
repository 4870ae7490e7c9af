// The notifier: reads alert events and turns them into few, grouped, correct notifications.
//
// One page per incident, with any number of instances: they share one consumer group whose
// assigner gives every partition of the alert topic to the oldest member; the others stand by.
// When the active instance is assigned the topic it first restores what it must know — the
// latest event of every alert (compacted telemetry.alerts.state) and the notification log — so a
// restart, a kill -9 or a failover notifies nothing again before it is due. Silences and acks
// are read by every instance (they serve the API too).
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { decode, encode } from "../../schemas/codec.js";
import type { Alert } from "../../schemas/types.js";
import { loadConfig } from "../chassis/config.js";
import { createProcessingLoop, type BatchConsumer } from "../chassis/processing-loop.js";
import { deadLetterRecord } from "../chassis/dead-letter.js";
import { ensureInternalTopics } from "../chassis/internal-topics.js";
import { every } from "../chassis/periodic.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { consumerSettings, readSecret } from "../chassis/settings.js";
import { singleActiveAssigner } from "../chassis/single-active-assigner.js";
import { notifierApi } from "./api.js";
import { readAll } from "./commands.js";
import { createDelivery } from "./delivery.js";
import { Dispatcher } from "./dispatcher.js";
import { followActive } from "./standby-view.js";
import type { Send } from "./receivers/api.js";
import { RECEIVER_KINDS } from "./receivers/registry.js";
import {
  notifierSettings,
  readAlertmanagerFile,
  type Alerting,
  type NotifierSettings,
} from "./settings.js";
import { alertmanagerApi } from "./alertmanager-api.js";
import { consoleApi, ownsConsolePath } from "./console/console-api.js";
import { DeadLetterTail, groupHealth } from "./pipeline-health.js";
import type { KafkaAdmin as Admin } from "../chassis/kafka.js";
import { readFileSync } from "node:fs";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { Acks, logKey, NotificationLog, Silences } from "./stores.js";
import { RemediationLedger } from "./remediation.js";

export interface NotifierOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** What POST /-/reload reads (by default: the alertmanager.yml or VIGIL_CONFIG again). */
  reload?: () => { alerting: Alerting; resolveTimeout: number };
}

/** The routing configuration as it is now on disk. */
function reloadRouting(settings: NotifierSettings): { alerting: Alerting; resolveTimeout: number } {
  if (settings.alertmanager) return readAlertmanagerFile(settings.alertmanager.config);
  if (process.env.VIGIL_CONFIG) {
    const fresh = loadConfig(notifierSettings);
    return { alerting: fresh.alerting, resolveTimeout: fresh.resolveTimeout };
  }
  return { alerting: settings.alerting, resolveTimeout: settings.resolveTimeout };
}

// Keys whose values are secrets in an alertmanager.yml: GET /api/v2/status shows <secret>.
const SECRET_KEYS =
  /^(api_url|slack_api_url|service_key|routing_key|auth_password|smtp_auth_password|url|api_key|token|password|pagerduty_url)$/;

/** The configuration as given, secrets masked, for GET /api/v2/status (amtool config show). */
function originalConfig(settings: NotifierSettings): string {
  let doc: unknown = { alerting: settings.alerting };
  if (settings.alertmanager) {
    try {
      doc = parseYaml(readFileSync(settings.alertmanager.config, "utf8"));
    } catch {
      return "";
    }
  }
  const mask = (node: unknown): unknown =>
    Array.isArray(node)
      ? node.map(mask)
      : typeof node === "object" && node !== null
        ? Object.fromEntries(
            Object.entries(node).map(([k, v]) => [
              k,
              SECRET_KEYS.test(k) && typeof v === "string" ? "<secret>" : mask(v),
            ]),
          )
        : node;
  return stringifyYaml(mask(doc));
}

export async function startNotifier(
  settings: NotifierSettings,
  options: NotifierOptions = {},
): Promise<Service> {
  const now = options.now ?? Date.now;
  const cfg = settings.notifier;
  const log = new NotificationLog();
  const silences = new Silences();
  const acks = new Acks();
  const holder: {
    admin?: Admin;
    consumer?: BatchConsumer;
    dispatcher?: Dispatcher;
    active?: ReadonlySet<string>;
  } = {};
  let loaded = false;
  // Until silences and acknowledgements are read, the API answers 503, not "no such path".
  const starting = (req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? "").startsWith("/-/healthy")) return (void res.writeHead(200).end("OK"), true);
    if (!/^\/(api\/|-\/)/.test(req.url ?? "")) return false;
    res
      .writeHead(503, { "content-type": "application/json", "retry-after": "1" })
      .end(JSON.stringify({ error: "starting: reading silences and acknowledgements" }));
    return true;
  };
  const routes: { handle?: ReturnType<typeof notifierApi> } = {};
  const service = await startService({
    name: settings.service ?? "notifier",
    settings,
    now,
    notReady: () =>
      !loaded
        ? "reading silences and acknowledgements"
        : (holder.consumer?.notReady() ?? (holder.consumer ? undefined : "starting the consumer")),
    routes: (req, res) => routes.handle?.(req, res) ?? starting(req, res),
  });
  const { logger, metrics, kafka, producer } = service;

  // The fleet remediation budget: written through to its compacted topic before a lease counts.
  const ledger = new RemediationLedger(async (key, lease) => {
    await producer.send([{ topic: cfg.remediation, key, value: encode("remediation", lease) }]);
  }, now);
  let ledgerLoaded = false;
  const senders = new Map<string, { send: Send; sendResolved: boolean }>();
  const buildSenders = (alerting: Alerting) => {
    senders.clear();
    for (const r of alerting.receivers)
      for (const i of r.integrations)
        senders.set(i.id, {
          send: RECEIVER_KINDS[i.kind]!.create(i.config, {
            logger: logger.child({ receiver: i.id }),
            now,
            id: i.id,
            ledger,
          }),
          sendResolved: i.sendResolved,
        });
  };
  buildSenders(settings.alerting);
  const deliver = createDelivery({
    senders,
    settings: settings.delivery,
    metrics,
    logger,
    now,
    ...(options.sleep && { sleep: options.sleep }),
    deadLetter: (n, reason) =>
      producer.send([
        deadLetterRecord(settings.topics.deadLetter, {
          originalTopic: cfg.alerts,
          partition: -1,
          offset: -1,
          key: Buffer.from(n.groupId),
          value: Buffer.from(JSON.stringify(n)),
          headers: {},
          failedStage: `notifier:${n.receiver}`,
          errorCode: "VGL_DELIVERY_FAILED",
          errorMessage: reason,
          time: now(),
        }),
      ]),
  });
  const dispatcher = new Dispatcher(settings.alerting, {
    log,
    silences,
    acks,
    deliver,
    record: async (entry) => {
      await producer.send([
        {
          topic: cfg.log,
          key: logKey(entry.receiver, entry.groupKey),
          value: encode("notification-log", entry),
        },
      ]);
      log.apply(entry);
    },
    externalUrl: cfg.externalUrl,
    logger,
  });

  // The ledger's topic is the notifier's own: made where missing, as a stage makes its changelog.
  await ensureInternalTopics(kafka, [
    { name: cfg.remediation, partitionsOf: [cfg.acks], compacted: true },
  ]);
  // Silences and acks: read whole now, then followed live.
  await readAll(kafka, cfg.silences, "silence", (s) => silences.apply(s));
  await readAll(kafka, cfg.acks, "ack", (a) => acks.apply(a));
  const tail = kafka.consumer({
    groupId: `vigil-notifier-tail-${cfg.name}-${randomUUID()}`,
    maxWaitTimeInMs: 250,
  });
  await tail.connect();
  await tail.subscribe({ topics: [cfg.silences, cfg.acks], fromBeginning: true });
  await tail.run({
    eachMessage: async ({ topic, partition, message }) => {
      if (!message.value) return;
      try {
        if (topic === cfg.silences) silences.apply(decode("silence", message.value));
        else acks.apply(decode("ack", message.value));
      } catch (error) {
        logger.warn(
          { err: error, topic, partition, offset: message.offset },
          "unreadable record skipped",
        );
      }
    },
  });
  // The dead-letter topic, for the console (counts by reason, the latest letters), on a consumer
  // of its own: a long backlog of letters never holds up silences and acknowledgements.
  const letters = new DeadLetterTail();
  const letterTail = kafka.consumer({
    groupId: `vigil-notifier-tail-${cfg.name}-${randomUUID()}`,
    maxWaitTimeInMs: 250,
  });
  // Started beside, not before, readiness: the API does not wait for the letters' group to form.
  const letterTailStarted = (async () => {
    await letterTail.connect();
    await letterTail.subscribe({ topics: [settings.topics.deadLetter], fromBeginning: true });
    await letterTail.run({
      eachMessage: async ({ partition, message }) => {
        if (!message.value) return;
        try {
          letters.apply(partition, message.offset, decode("dead-letter", message.value));
        } catch (error) {
          logger.warn(
            { err: error, partition, offset: message.offset },
            "unreadable letter skipped",
          );
        }
      },
    });
  })().catch((error: unknown) =>
    logger.error({ err: error }, "cannot follow the dead-letter topic; the console shows none"),
  );
  // A standby answers reads (alerts, groups) from what the active one makes durable.
  const standby = await followActive({
    kafka,
    name: cfg.name,
    topics: { alertsState: cfg.alertsState, log: cfg.log },
    alerting: settings.alerting,
    silences,
    acks,
    externalUrl: cfg.externalUrl,
    logger,
    now,
  });
  /** Whom reads are answered from: the active dispatcher, or the standby's view of it. */
  const readable = () => (holder.active ? dispatcher : standby.read(now()));
  loaded = true;
  // Routing can be read again while running (POST /-/reload, as Alertmanager): groups are formed
  // anew, the notification log stays, so nothing already told is told again.
  let alerting = settings.alerting;
  let resolveTimeout = settings.resolveTimeout;
  const reload = () => {
    const next = options.reload?.() ?? reloadRouting(settings);
    buildSenders(next.alerting);
    dispatcher.reconfigure(next.alerting, now());
    standby.reconfigure(next.alerting, now());
    alerting = next.alerting;
    resolveTimeout = next.resolveTimeout;
    logger.info({ receivers: [...senders.keys()] }, "routing configuration reloaded");
  };
  const startedAt = now();
  const v2 = alertmanagerApi({
    producer,
    topics: { alerts: cfg.alerts, alertsState: cfg.alertsState, silences: cfg.silences },
    silences,
    dispatcher: readable,
    receivers: () => alerting.receivers.map((r) => r.name),
    resolveTimeout: () => resolveTimeout,
    original: () => originalConfig(settings),
    startedAt,
    now,
  });
  const consoleHandle = consoleApi({
    dispatcher: readable,
    log,
    remediation: (fingerprint) => ledger.decisions(fingerprint),
    letters,
    deadLetterTopic: settings.topics.deadLetter,
    groups: groupHealth(async () => {
      if (!holder.admin) {
        holder.admin = kafka.admin();
        await holder.admin.connect();
      }
      return holder.admin;
    }),
    producer,
    now,
  });
  routes.handle = notifierApi({
    producer,
    topics: { silences: cfg.silences, acks: cfg.acks },
    silences,
    acks,
    dispatcher: () => (holder.active ? dispatcher : undefined),
    role: () => (holder.active ? "active" : "standby"),
    ...(settings.api.token && { token: readSecret(settings.api.token) }),
    now,
    extra: async (req) => (await v2(req)) ?? (await consoleHandle(req)),
    owns: ownsConsolePath,
    reload,
    ready: () => loaded,
  });

  // Becoming the active instance: restore alerts and the notification log first.
  let activation: { assignment: ReadonlySet<string>; ready: Promise<void> } | undefined;
  async function active(): Promise<boolean> {
    const assignment = holder.consumer?.assignment() ?? new Set<string>();
    if (assignment.size === 0) {
      if (activation) logger.info("standing by: another instance is active");
      activation = undefined;
      holder.active = undefined;
      dispatcher.clear();
      return false;
    }
    if (activation?.assignment !== assignment) {
      dispatcher.clear();
      log.clear();
      const started = now();
      activation = {
        assignment,
        ready: (async () => {
          await readAll(kafka, cfg.log, "notification-log", (e) => log.apply(e));
          await readAll(kafka, cfg.alertsState, "alert", (a) => dispatcher.insert(a, now()));
          await readAll(kafka, cfg.remediation, "remediation", (l) => ledger.restore(l));
          ledgerLoaded = true;
          holder.active = assignment;
          logger.info({ tookMs: now() - started }, "active: alerts and notification log restored");
        })(),
      };
      activation.ready.catch(() => (activation = undefined));
    }
    await activation.ready;
    return true;
  }

  const consumer = createProcessingLoop<Alert>({
    kafka,
    producer,
    settings: consumerSettings.parse({
      groupId: `vigil-notifier-${cfg.name}`,
      topics: [cfg.alerts],
      sessionTimeout: cfg.sessionTimeout,
    }),
    deadLetterTopic: settings.topics.deadLetter,
    decode: (_topic, value) => decode("alert", value),
    handler: async (records) => {
      if (await active()) for (const r of records) dispatcher.insert(r.decoded, now());
      return {};
    },
    metrics,
    logger,
    now,
    partitionAssigners: [singleActiveAssigner(now())],
  });
  holder.consumer = consumer;
  await consumer.start();

  const flushing = new Set<Promise<void>>();
  const ticker = every(
    cfg.tick,
    async () => {
      try {
        if (!(await active())) return;
      } catch (error) {
        logger.error(
          { err: error },
          "cannot restore alerts or the notification log; retried next tick",
        );
        return;
      }
      const flush = dispatcher
        .tick(now())
        .then(() => (ledgerLoaded ? ledger.tick() : undefined))
        .catch((error: unknown) => logger.error({ err: error }, "flush failed"));
      flushing.add(flush);
      void flush.finally(() => flushing.delete(flush));
    },
    now,
  );
  logger.info({ receivers: [...senders.keys()] }, "notifier started");

  const stop = service.stop;
  return {
    ...service,
    stop: async () => {
      await ticker.stop();
      await consumer.stop();
      await Promise.all(flushing);
      await tail.disconnect();
      await letterTailStarted;
      await letterTail.disconnect();
      await standby.stop();
      await holder.admin?.disconnect();
      await stop();
    },
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(notifierSettings);
  await runMain(() => startNotifier(settings), settings.shutdown.deadline);
}

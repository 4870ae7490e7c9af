// The configuration every service shares, declared once with defaults. A service extends it
// with its own section (see service.ts). Secrets are given by reference — the name of an
// environment variable or a file — never inline, so they never reach a config dump or a log.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "./config.js";

export const secretRef = z
  .strictObject({ env: z.string().min(1).optional(), file: z.string().min(1).optional() })
  .refine((ref) => (ref.env === undefined) !== (ref.file === undefined), {
    message: "give exactly one of env (a variable name) or file (a path)",
  });
export type SecretRef = z.infer<typeof secretRef>;

// Secrets written inline in a configuration brought from elsewhere (an alertmanager.yml holds its
// routing keys and webhook URLs inline; the file as a whole is the secret). They are kept here,
// in memory, and referred to by a name no environment variable can have.
const inline = new Map<string, string>();

/** A reference to a secret given inline by a foreign configuration format. */
export function inlineSecret(value: string): SecretRef {
  // The same value keeps its name, so reading a configuration again (a reload) adds nothing.
  for (const [name, held] of inline) if (held === value) return { env: name };
  const name = `inline secret #${inline.size + 1}`;
  inline.set(name, value);
  return { env: name };
}

export function readSecret(
  ref: SecretRef,
  env: Record<string, string | undefined> = process.env,
): string {
  if (ref.file) return readFileSync(ref.file, "utf8").trim();
  const held = inline.get(ref.env!);
  if (held !== undefined) return held;
  const value = env[ref.env!];
  if (value === undefined) throw new Error(`secret variable ${ref.env} is not set`);
  return value;
}

/**
 * Whether a listen address only takes connections from this machine. Anything else (0.0.0.0, a
 * pod IP, a host name) is reachable by others: every state-changing endpoint there needs
 * authentication, and a configuration that leaves one open is refused at start (see offLoopback).
 */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The issue to report when `host` is reachable by others and `authenticated` is false. */
export function offLoopbackWithoutAuth(
  ctx: z.RefinementCtx,
  path: (string | number)[],
  host: string,
  authenticated: boolean,
  what: string,
): void {
  if (!isLoopback(host) && !authenticated)
    ctx.addIssue({
      code: "custom",
      path,
      message: `required: ${what} would listen on ${host}, reachable from other machines, without authentication`,
    });
}

const brokers = z.preprocess(
  (value) => (typeof value === "string" ? value.split(",").map((b) => b.trim()) : value),
  z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected "host:port"')).min(1),
);

export const kafkaSettings = z.strictObject({
  brokers: brokers.default(["127.0.0.1:19092"]),
  clientId: z.string().min(1).optional(),
  /** TLS with the system's CAs; `tls` below to give a CA, a client certificate, a server name. */
  ssl: z.boolean().default(false),
  tls: z
    .strictObject({
      /** PEM of the CA(s) that signed the brokers' certificates (else the system's). */
      ca: secretRef.optional(),
      /** PEM client certificate and key, for brokers that authenticate clients by certificate. */
      cert: secretRef.optional(),
      key: secretRef.optional(),
      /** The name the brokers' certificates carry, when it is not the address dialled. */
      servername: z.string().min(1).optional(),
    })
    .refine((t) => (t.cert === undefined) === (t.key === undefined), {
      message: "give both cert and key, or neither",
    })
    .optional(),
  sasl: z
    .strictObject({
      mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]),
      username: z.string().min(1),
      password: secretRef,
    })
    .optional(),
  /** Producer compression; gzip is built into kafkajs, the others need extra codecs. */
  compression: z.enum(["none", "gzip"]).default("gzip"),
});

/**
 * A stateful stage's fetch bounds: larger than a plain consumer's, as each commit writes every key
 * its batch changed (a window's clock and its open windows) — a key many records change is
 * written once per MiB of input, not once per 128 KiB. Peer bench, agg job: 8.6 → 5.5
 * CPU-µs/sample for 586 → 822 MiB; 128 KiB batches wrote ~1.2 changelog records per input sample.
 */
export const stageFetch = { maxBytesPerPartition: 1_048_576, maxBytes: 2_097_152 };

/**
 * The guarantee of a consuming service: at_least_once sends a batch's outputs (acks=all), then
 * commits its offsets — a crash between the two writes them again (sinks write idempotently);
 * exactly_once writes outputs, dead letters, state and offsets in one Kafka transaction per task.
 */
export const processing = z.enum(["at_least_once", "exactly_once"]);
export type Processing = z.infer<typeof processing>;

export const consumerSettings = z.strictObject({
  groupId: z.string().min(1),
  topics: z.array(z.string().min(1)).min(1),
  processing: processing.default("at_least_once"),
  /** Batches processed at once across partitions; one partition never has two in flight. */
  concurrency: z.number().int().min(1).max(64).default(2),
  /**
   * Fetch bounds (compressed bytes): memory held by in-flight batches is at most concurrency ×
   * maxBytesPerPartition, decompressed and decoded. Small by default: a batch's records live until
   * it is written, and big batches outlive the young generation — the peer bench's raw job held
   * 808 MiB at Kafka's 1 MiB / 10 MiB with 4 batches in flight, 246 MiB at these, for less CPU.
   */
  maxBytesPerPartition: z.number().int().min(1024).default(131_072),
  maxBytes: z.number().int().min(1024).default(524_288),
  sessionTimeout: duration.default(30_000),
  /** How long the group waits for members to rejoin during a rebalance. */
  rebalanceTimeout: duration.default(60_000),
  heartbeatInterval: duration.default(3_000),
  retry: z
    .strictObject({ initial: duration.default(200), max: duration.default(30_000) })
    .default({ initial: 200, max: 30_000 }),
  fromBeginning: z.boolean().default(true),
  /** A partition whose batch keeps failing this long turns /readyz red, saying why. */
  stallAfter: duration.default(60_000),
});

export const baseSettings = z.strictObject({
  service: z.string().min(1).optional(),
  kafka: kafkaSettings.default(kafkaSettings.parse({})),
  http: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(9464),
    })
    .default({ host: "127.0.0.1", port: 9464 }),
  log: z
    .strictObject({
      level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    })
    .default({ level: "info" }),
  shutdown: z.strictObject({ deadline: duration.default(30_000) }).default({ deadline: 30_000 }),
  topics: z
    .strictObject({ deadLetter: z.string().default(TOPICS.deadLetter.name) })
    .default({ deadLetter: TOPICS.deadLetter.name }),
});

export type KafkaSettings = z.infer<typeof kafkaSettings>;
export type ConsumerSettings = z.infer<typeof consumerSettings>;
export type BaseSettings = z.infer<typeof baseSettings>;

/**
 * The on-disk edge buffer of an agent or ingest (see edge-buffer.ts): where, and its bounds. Off
 * when absent.
 */
export const edgeBufferSettings = z.strictObject({
  dir: z.string().min(1),
  maxBytes: z
    .number()
    .int()
    .min(2 ** 20)
    .default(2 ** 30),
  maxAge: duration.default(24 * 3_600_000),
});
export type EdgeBufferSettings = z.infer<typeof edgeBufferSettings>;

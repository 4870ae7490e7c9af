// Silences and acknowledgements are records on compacted topics; the HTTP API and the CLI both
// write them through these functions, so both check requests the same way.
import type { KafkaClient as Kafka } from "../chassis/kafka.js";
import { decode, encode } from "../../schemas/codec.js";
import type { Acknowledgement, Silence, Subjects } from "../../schemas/types.js";
import type { OutputProducer } from "../chassis/producer.js";
import { readToEnd } from "../chassis/read-to-end.js";
import { newSilence, SilenceError, type SilenceInput } from "./stores.js";

export async function addSilence(
  producer: OutputProducer,
  topic: string,
  input: SilenceInput,
  now: number,
  /** Updates the silence with this id instead of making a new one. */
  id?: string,
): Promise<Silence> {
  const silence = newSilence(input, now, id);
  await producer.send([{ topic, key: silence.id, value: encode("silence", silence) }]);
  return silence;
}

export async function expireSilence(
  producer: OutputProducer,
  topic: string,
  silence: Silence | undefined,
  now: number,
): Promise<Silence> {
  if (!silence) throw new SilenceError("id: no such silence");
  const expired = { ...silence, endsAt: Math.min(silence.endsAt, now), updatedAt: now };
  await producer.send([{ topic, key: silence.id, value: encode("silence", expired) }]);
  return expired;
}

export async function acknowledge(
  producer: OutputProducer,
  topic: string,
  input: { fingerprint: string; by: string; comment?: string; withdrawn?: boolean },
  now: number,
): Promise<Acknowledgement> {
  if (!/^[0-9a-f]{16}$/.test(input.fingerprint ?? ""))
    throw new SilenceError("fingerprint: expected the alert's 16-hex-digit fingerprint");
  if (!input.by?.trim()) throw new SilenceError("by: say who acknowledges");
  const ack = {
    fingerprint: input.fingerprint,
    by: input.by.trim(),
    comment: input.comment ?? "",
    at: now,
    withdrawn: input.withdrawn ?? false,
  };
  await producer.send([{ topic, key: ack.fingerprint, value: encode("ack", ack) }]);
  return ack;
}

/** Every record of a compacted topic, latest per key last, decoded. */
export async function readAll<
  S extends "silence" | "ack" | "notification-log" | "alert" | "remediation",
>(kafka: Kafka, topic: string, subject: S, apply: (value: Subjects[S]) => void): Promise<void> {
  await readToEnd(
    kafka,
    topic,
    (messages) => {
      for (const m of messages) if (m.value) apply(decode(subject, m.value));
    },
    // Up to what is committed now: the alerts' state is written in the detector's transactions,
    // and one a killed detector left open holds every reader at its start until it is aborted.
    { group: `vigil-notifier-read-${subject}`, onStall: "stop", stallMs: 10_000 },
  );
}

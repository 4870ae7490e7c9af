// What a Kafka error means for the record that caused it. A produce that the broker refuses for
// good — the record is too large, the topic does not exist, we may not write to it — fails the
// same way however often it is retried: retrying it forever stalls the partition behind it. Those
// are handled (the record set aside as a dead letter by reference); everything else (network,
// leader change, a broker restarting) is retried.
const PERMANENT = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TOPIC_EXCEPTION",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);

/** The broker's error type when `error` (or what it wraps) refuses a produce for good. */
export function permanentProduceError(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const walk = (e: unknown): string | undefined => {
    if (e === null || typeof e !== "object" || seen.has(e)) return undefined;
    seen.add(e);
    const { type, cause, errors } = e as { type?: unknown; cause?: unknown; errors?: unknown };
    if (typeof type === "string" && PERMANENT.has(type)) return type;
    if (Array.isArray(errors))
      for (const inner of errors) {
        const found = walk(inner);
        if (found) return found;
      }
    return walk(cause);
  };
  return walk(error);
}

/** Thrown where a produce was refused for good: the caller sets the records aside. */
export class ProduceRefused extends Error {
  override name = "ProduceRefused";
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

// The closed list of error codes a Vigil service reports: in dead letters, logs and metrics.
// A code names what went wrong; the message says where (field, key, offset).
export const ERROR_CODES = {
  VGL_DECODE_EMPTY: "the record has no value",
  VGL_DECODE_MAGIC: "the value does not carry the Vigil framing",
  VGL_DECODE_UNKNOWN_SCHEMA: "the value names a schema id this service does not know",
  VGL_DECODE_WRONG_SUBJECT: "the value is of another kind than the topic carries",
  VGL_DECODE_BODY: "the Avro body is malformed",
  VGL_ENCODE_INVALID: "a value does not fit its schema",
  VGL_VALIDATE: "a field of an event is missing or out of range",
  VGL_HANDLER_FAILED: "the processing stage threw a non-retryable error for the batch",
  VGL_SINK_REJECTED: "the store refused the record for good",
  VGL_CONFIG_INVALID: "the configuration does not match its schema",
  VGL_PRODUCE_REFUSED:
    "Kafka refused a record for good (over its size limit, or its topic not writable)",
  VGL_DELIVERY_FAILED: "a notification could not be delivered to its receiver",
  VGL_KEY_MISMATCH:
    "a sample's label does not match its record's key, which the pipeline declares it is keyed by",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Thrown by a stage whose failure may pass (store down, throttled): the batch is retried. */
export class RetryableError extends Error {
  override name = "RetryableError";
  constructor(
    message: string,
    /** A delay the remote side asked for (e.g. Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export function errorCodeOf(error: unknown, fallback: ErrorCode): ErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code in ERROR_CODES ? (code as ErrorCode) : fallback;
}

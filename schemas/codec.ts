// The wire format of every Vigil record value: the Confluent framing (magic byte 0, then the
// 4-byte big-endian schema id) followed by the Avro body. The id says which schema version wrote
// the record; the reader resolves that writer schema into its own version.
import type avro from "avsc";
import { avroType, latest, versionById, type SchemaVersion } from "./registry.js";
import type { MetricBatch, Subject, Subjects } from "./types.js";

/**
 * A sample's `nanos` is absent unless it has some: Avro writes 0 for absent, so 0 reads back as
 * undefined (assigned, not deleted, so the object keeps its shape).
 */
function withoutZeroNanos(batch: MetricBatch): void {
  for (const sample of batch.samples) if (sample.nanos === 0) sample.nanos = undefined;
}

const MAGIC = 0;
const HEADER_BYTES = 5;
let scratch = Buffer.allocUnsafe(1 << 16);

export type DecodeErrorCode =
  | "VGL_DECODE_EMPTY"
  | "VGL_DECODE_MAGIC"
  | "VGL_DECODE_UNKNOWN_SCHEMA"
  | "VGL_DECODE_WRONG_SUBJECT"
  | "VGL_DECODE_BODY";

export class DecodeError extends Error {
  override name = "DecodeError";
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class EncodeError extends Error {
  override name = "EncodeError";
  readonly code = "VGL_ENCODE_INVALID";
}

const resolvers = new Map<string, avro.Resolver>();

function resolver(reader: SchemaVersion, writer: SchemaVersion): avro.Resolver {
  const key = `${reader.id}<${writer.id}`;
  let found = resolvers.get(key);
  if (!found) {
    found = avroType(reader).createResolver(avroType(writer));
    resolvers.set(key, found);
  }
  return found;
}

/** Encodes `value` with the latest version of `subject`, or the given one. */
export function encode<S extends Subject>(
  subject: S,
  value: Subjects[S],
  version: SchemaVersion = latest(subject),
): Buffer {
  const type = avroType(version);
  // Written straight after the framing into a scratch buffer (grown when too small), then copied
  // out once: toBuffer would copy the body, and the framing copy it again.
  let end: number;
  try {
    for (;;) {
      end = type.encode(value, scratch, HEADER_BYTES);
      if (end >= 0) break;
      scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
    }
  } catch {
    // Validate only on failure: it costs as much as encoding, and says which field is wrong.
    const problems: string[] = [];
    type.isValid(value, {
      errorHook: (path, got) =>
        problems.push(`${path.join(".") || "(root)"}: got ${JSON.stringify(got)}`),
    });
    throw new EncodeError(
      `${subject} v${version.version} cannot encode it: ${problems.slice(0, 3).join("; ")}`,
    );
  }
  const framed = Buffer.allocUnsafe(end);
  scratch.copy(framed, 0, 0, end);
  framed.writeUInt8(MAGIC, 0);
  framed.writeUInt32BE(version.id, 1);
  return framed;
}

/** The schema version that wrote `bytes`. */
export function writerOf(bytes: Buffer | null | undefined): SchemaVersion {
  if (!bytes || bytes.length === 0)
    throw new DecodeError("VGL_DECODE_EMPTY", "record value is empty");
  if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC) {
    throw new DecodeError(
      "VGL_DECODE_MAGIC",
      `record value does not start with the Vigil framing (magic byte ${MAGIC})`,
    );
  }
  const id = bytes.readUInt32BE(1);
  const writer = versionById(id);
  if (!writer) throw new DecodeError("VGL_DECODE_UNKNOWN_SCHEMA", `unknown schema id ${id}`);
  return writer;
}

/** Decodes a framed record into the reader's version (the latest by default) of `subject`. */
export function decode<S extends Subject>(
  subject: S,
  bytes: Buffer | null | undefined,
  reader: SchemaVersion = latest(subject),
): Subjects[S] {
  const writer = writerOf(bytes);
  if (writer.subject !== subject) {
    throw new DecodeError(
      "VGL_DECODE_WRONG_SUBJECT",
      `expected a ${subject} record, got ${writer.subject} (schema id ${writer.id})`,
    );
  }
  const body = bytes!.subarray(HEADER_BYTES);
  try {
    const type = avroType(reader);
    const value: unknown =
      writer.id === reader.id
        ? type.fromBuffer(body)
        : type.fromBuffer(body, resolver(reader, writer));
    if (subject === "metric-batch") withoutZeroNanos(value as MetricBatch);
    return value as Subjects[S];
  } catch (error) {
    throw new DecodeError(
      "VGL_DECODE_BODY",
      `${subject} v${writer.version} body is malformed: ${(error as Error).message}`,
    );
  }
}

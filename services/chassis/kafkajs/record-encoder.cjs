// Vigil's replacement for kafkajs 2.2.4's src/protocol/recordBatch/record/v0/index.js, copied over
// it at install by scripts/patch-kafkajs.mjs, as filter-aborted-messages.cjs is.
//
// What it changes: the CPU and garbage of encoding a record to produce. kafkajs gave every record
// an Encoder of 512 zeroed bytes, made a Buffer from an array for each of its five varints, did the
// timestamp's in Long arithmetic, and built a headers array per record — ~3.5 µs and ~1 KiB of
// garbage per record, most of a changelog commit's CPU where it writes 100 000 keys. This writes
// a record with no headers straight into one buffer of its exact size, byte for byte what kafkajs
// wrote (test/unit/chassis/record-encoder.test.ts compares the two on generated records); a
// record with headers, or a timestamp delta past ±2^30 ms, goes the original way.
//
// vigil-fast-record-encoder (the patch script looks for this marker)
const Encoder = require("../../../encoder");
const Header = require("../../header/v0");

const zigZag = (value) => (value << 1) ^ (value >> 31);

function sizeOfUVarInt(value) {
  let bytes = 1;
  while ((value & 0xffffff80) !== 0) {
    bytes += 1;
    value >>>= 7;
  }
  return bytes;
}

function writeUVarInt(buffer, offset, value) {
  while ((value & 0xffffff80) !== 0) {
    buffer[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buffer[offset++] = value & 0x7f;
  return offset;
}

const asBytes = (value) =>
  value == null ? null : Buffer.isBuffer(value) ? value : Buffer.from(String(value), "utf8");

const plain = (value) => value == null || Buffer.isBuffer(value) || typeof value === "string";

function hasHeaders(headers) {
  for (const _ in headers) return true;
  return false;
}

const SMALL = 2 ** 30;

module.exports = ({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }) => {
  if (
    hasHeaders(headers) ||
    typeof timestampDelta !== "number" ||
    !Number.isInteger(timestampDelta) ||
    timestampDelta >= SMALL ||
    timestampDelta <= -SMALL ||
    !Number.isInteger(offsetDelta) ||
    !plain(key) ||
    !plain(value)
  )
    return original({ offsetDelta, timestampDelta, key, value, headers });
  const k = asBytes(key);
  const v = asBytes(value);
  const ts = zigZag(timestampDelta);
  const od = zigZag(offsetDelta);
  const kl = zigZag(k === null ? -1 : k.length);
  const vl = zigZag(v === null ? -1 : v.length);
  const body =
    1 +
    sizeOfUVarInt(ts) +
    sizeOfUVarInt(od) +
    sizeOfUVarInt(kl) +
    (k === null ? 0 : k.length) +
    sizeOfUVarInt(vl) +
    (v === null ? 0 : v.length) +
    1; // no headers: a varint 0
  const bl = zigZag(body);
  const buffer = Buffer.allocUnsafe(sizeOfUVarInt(bl) + body);
  let at = writeUVarInt(buffer, 0, bl);
  buffer[at++] = 0; // attributes
  at = writeUVarInt(buffer, at, ts);
  at = writeUVarInt(buffer, at, od);
  at = writeUVarInt(buffer, at, kl);
  if (k !== null) at += k.copy(buffer, at);
  at = writeUVarInt(buffer, at, vl);
  if (v !== null) at += v.copy(buffer, at);
  buffer[at++] = 0; // zero headers
  const encoder = Object.create(Encoder.prototype);
  encoder.buf = buffer;
  encoder.offset = at;
  return encoder;
};

/** kafkajs's own encoding, for what the fast path does not take. */
function original({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }) {
  const headersArray = Object.keys(headers).flatMap((headerKey) =>
    !Array.isArray(headers[headerKey])
      ? [{ key: headerKey, value: headers[headerKey] }]
      : headers[headerKey].map((headerValue) => ({ key: headerKey, value: headerValue })),
  );

  const sizeOfBody =
    1 + // always one byte for attributes
    Encoder.sizeOfVarLong(timestampDelta) +
    Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarIntBytes(key) +
    Encoder.sizeOfVarIntBytes(value) +
    sizeOfHeaders(headersArray);

  return new Encoder()
    .writeVarInt(sizeOfBody)
    .writeInt8(0) // no used record attributes at the moment
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(headersArray.map(Header));
}

const sizeOfHeaders = (headersArray) => {
  let size = Encoder.sizeOfVarInt(headersArray.length);

  for (const header of headersArray) {
    const keySize = Buffer.byteLength(header.key);
    const valueSize = Buffer.byteLength(header.value);

    size += Encoder.sizeOfVarInt(keySize) + keySize;

    if (header.value === null) {
      size += Encoder.sizeOfVarInt(-1);
    } else {
      size += Encoder.sizeOfVarInt(valueSize) + valueSize;
    }
  }

  return size;
};

module.exports.original = original;

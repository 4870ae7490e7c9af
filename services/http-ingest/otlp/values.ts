// OTLP's value types as plain TypeScript: the same reading serves a protobuf-decoded message
// (int64 as Long, ids as bytes) and OTLP/JSON (int64 as a string or number, ids as hex strings).

/** An int64 as protobufjs decodes it (Long), or as OTLP/JSON writes it (string or number). */
export type Int64 = number | string | bigint | { toString(): string } | null | undefined;

export interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64;
  doubleValue?: number | string | null;
  arrayValue?: { values?: AnyValue[] | null } | null;
  kvlistValue?: { values?: KeyValue[] | null } | null;
  bytesValue?: Uint8Array | string | null;
}

export interface KeyValue {
  key?: string | null;
  value?: AnyValue | null;
}

/** An int64 as a bigint; absent, empty or zero is 0n. Throws on text that is not an integer. */
export function bigintOf(value: Int64): bigint {
  if (value === null || value === undefined || value === "") return 0n;
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(Math.trunc(value));
  return BigInt(value.toString());
}

export const numberOf = (value: Int64): number => Number(bigintOf(value));

/** A double as OTLP/JSON may write it: a number, or "NaN", "Infinity", "-Infinity". */
export function doubleOf(value: number | string | null | undefined): number {
  if (typeof value === "number") return value;
  if (value === null || value === undefined) return 0;
  const parsed = Number(value);
  if (Number.isNaN(parsed) && value !== "NaN") throw new Error(`"${value}" is not a number`);
  return parsed;
}

/** Nanoseconds since the epoch → milliseconds (the precision of Vigil's samples and events). */
export const msOfNanos = (nanos: Int64): number => Number(bigintOf(nanos) / 1_000_000n);

/** A trace or span id as lower-case hex; null when absent or all zero (OTLP's "no id"). */
export function hexId(id: Uint8Array | string | null | undefined): string | null {
  if (id === null || id === undefined) return null;
  const hex = typeof id === "string" ? id.toLowerCase() : Buffer.from(id).toString("hex");
  return /^0*$/.test(hex) ? null : hex;
}

/** An attribute value as text: strings as they are, anything structured as JSON. */
export function textOf(value: AnyValue | null | undefined): string {
  if (!value) return "";
  if (value.stringValue !== null && value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== null && value.boolValue !== undefined) return String(value.boolValue);
  if (value.intValue !== null && value.intValue !== undefined)
    return bigintOf(value.intValue).toString();
  if (value.doubleValue !== null && value.doubleValue !== undefined)
    return String(doubleOf(value.doubleValue));
  if (value.bytesValue !== null && value.bytesValue !== undefined)
    return typeof value.bytesValue === "string"
      ? value.bytesValue
      : Buffer.from(value.bytesValue).toString("base64");
  return JSON.stringify(plain(value));
}

/** An AnyValue as the JSON value it stands for (arrays and key-value lists nested). */
function plain(value: AnyValue | null | undefined): unknown {
  if (!value) return null;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  if (value.kvlistValue)
    return Object.fromEntries(
      (value.kvlistValue.values ?? []).map((kv) => [kv.key ?? "", plain(kv.value)]),
    );
  if (value.boolValue !== null && value.boolValue !== undefined) return value.boolValue;
  if (value.doubleValue !== null && value.doubleValue !== undefined)
    return doubleOf(value.doubleValue);
  if (value.intValue !== null && value.intValue !== undefined) {
    const int = bigintOf(value.intValue);
    return Number.isSafeInteger(Number(int)) ? Number(int) : int.toString();
  }
  return textOf(value);
}

/** Attributes as a string map, keys as OTLP names them. */
export function attributeMap(list: KeyValue[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) if (kv.key) out[kv.key] = textOf(kv.value);
  return out;
}

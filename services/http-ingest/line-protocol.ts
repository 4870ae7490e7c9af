// A parser for InfluxDB line protocol as Telegraf and the InfluxDB clients write it, read as
// InfluxDB reads it:
//   measurement[,tag=value…] field=value[,field=value…] [timestamp]
// Escapes: "\," and "\ " in measurements; "\,", "\=" and "\ " in tag keys, tag values and field
// keys (a backslash before anything else is literal); "\"" and "\\" in string field values, which
// may also hold raw newlines (Telegraf writes them). Numbers: floats, 12i (64-bit signed), 12u
// (64-bit unsigned), range-checked; booleans t/true/f/false in any case. Spaces between the
// sections may repeat. A tag key given twice, a control character in a name, a timestamp beyond
// 64 bits are errors naming the line.
import { LineError } from "../chassis/line-error.js";
export interface LinePoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | string | boolean>;
  /** Milliseconds since the epoch, when the line had a timestamp. */
  timestamp?: number;
  /** Nanoseconds past that millisecond (ns or us precision), when there are any. */
  nanos?: number;
}

export type Precision = "ns" | "us" | "ms" | "s";

export class LineProtocolError extends LineError {
  override name = "LineProtocolError";
}

const PER_MS: Record<Precision, bigint> = { ns: 1_000_000n, us: 1_000n, ms: 1n, s: 0n };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const UINT64_MAX = 2n ** 64n - 1n;
// Control characters are not part of any name or tag value InfluxDB stores.
function controlCharacter(value: string): string | undefined {
  for (const c of value) {
    const code = c.charCodeAt(0);
    if ((code < 0x20 && code !== 0x0a) || code === 0x7f) return c;
  }
  return undefined;
}

/**
 * Reads up to the first unescaped character in `stops` (a newline always stops); returns the text
 * and where it stopped.
 */
function readUntil(text: string, at: number, stops: string, escapable: string): [string, number] {
  let out = "";
  let i = at;
  while (i < text.length && text[i] !== "\n" && !stops.includes(text[i]!)) {
    if (text[i] === "\\" && i + 1 < text.length && escapable.includes(text[i + 1]!)) {
      out += text[i + 1];
      i += 2;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return [out, i];
}

function checkName(value: string, what: string, line: number): string {
  const bad = controlCharacter(value);
  if (bad !== undefined)
    throw new LineProtocolError(
      line,
      `${what} ${JSON.stringify(value)}: control character ${JSON.stringify(bad)} not allowed`,
    );
  return value;
}

function fieldValue(raw: string, key: string, line: number): number | boolean {
  if (/^[tT](rue|RUE)?$|^True$/.test(raw)) return true;
  if (/^[fF](alse|ALSE)?$|^False$/.test(raw)) return false;
  const integer = /^(-?\d+)([iu])$/.exec(raw);
  if (integer) {
    const value = BigInt(integer[1]!);
    const [min, max] = integer[2] === "i" ? [INT64.min, INT64.max] : [0n, UINT64_MAX];
    if (integer[2] === "u" && integer[1]!.startsWith("-"))
      throw new LineProtocolError(line, `field "${key}": unsigned integer ${raw} is negative`);
    if (value < min || value > max)
      throw new LineProtocolError(
        line,
        `field "${key}": ${raw} is out of range for a 64-bit ${integer[2] === "i" ? "signed" : "unsigned"} integer`,
      );
    return Number(value);
  }
  const value = Number(raw);
  if (
    raw === "" ||
    !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw) ||
    !Number.isFinite(value)
  ) {
    throw new LineProtocolError(line, `invalid value "${raw}" for field "${key}"`);
  }
  return value;
}

/**
 * Reads the point starting at `at` of `text`, up to the newline that ends it (a newline inside a
 * string field does not); returns it and where the next line starts.
 */
function readPoint(
  text: string,
  at: number,
  line: number,
  precision: Precision,
): { point: LinePoint; next: number } {
  const [measurement, afterName] = readUntil(text, at, ", ", ", ");
  if (measurement === "") throw new LineProtocolError(line, "missing measurement");
  checkName(measurement, "measurement", line);
  let i = afterName;
  const tags: Record<string, string> = {};
  while (text[i] === ",") {
    const [key, eq] = readUntil(text, i + 1, "=, ", ",= ");
    if (text[eq] !== "=" || key === "")
      throw new LineProtocolError(line, `invalid tag after "${measurement}": expected key=value`);
    const [value, end] = readUntil(text, eq + 1, ", ", ",= ");
    if (value === "") throw new LineProtocolError(line, `tag "${key}" has no value`);
    if (key in tags) throw new LineProtocolError(line, `duplicate tag key "${key}"`);
    tags[checkName(key, "tag key", line)] = checkName(value, `tag "${key}" value`, line);
    i = end;
  }
  if (text[i] !== " ") throw new LineProtocolError(line, "missing fields");
  while (text[i] === " ") i += 1;
  const fields: LinePoint["fields"] = {};
  let lineNo = line;
  for (;;) {
    const [key, eq] = readUntil(text, i, "=, ", ",= ");
    if (text[eq] !== "=" || key === "")
      throw new LineProtocolError(
        line,
        `invalid field near ${JSON.stringify(text.slice(i, Math.min(i + 20, text.indexOf("\n", i) >>> 0)))}: expected key=value`,
      );
    checkName(key, "field key", line);
    i = eq + 1;
    if (text[i] === '"') {
      let value = "";
      i += 1;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) i += 1;
        if (text[i] === "\n") lineNo += 1;
        value += text[i];
        i += 1;
      }
      if (text[i] !== '"')
        throw new LineProtocolError(line, `unterminated string in field "${key}"`);
      fields[key] = value;
      i += 1;
    } else {
      const [raw, end] = readUntil(text, i, ", \r", "");
      fields[key] = fieldValue(raw, key, line);
      i = end;
    }
    if (text[i] === ",") i += 1;
    else break;
  }
  const stop = text.indexOf("\n", i);
  const end = stop === -1 ? text.length : stop;
  const rest = text.slice(i, end).replace(/\r$/, "").trim();
  const next = stop === -1 ? text.length : stop + 1;
  if (rest === "") return { point: { measurement, tags, fields }, next };
  if (!/^-?\d+$/.test(rest)) throw new LineProtocolError(lineNo, `invalid timestamp "${rest}"`);
  const ts = BigInt(rest);
  if (ts < INT64.min || ts > INT64.max)
    throw new LineProtocolError(lineNo, `timestamp ${rest} is out of the 64-bit range`);
  const timestamp = precision === "s" ? Number(ts * 1000n) : Number(ts / PER_MS[precision]);
  const perMs = PER_MS[precision];
  const nanos = perMs > 1n && ts > 0n ? Number((ts % perMs) * (1_000_000n / perMs)) : 0;
  return {
    point: { measurement, tags, fields, timestamp, ...(nanos > 0 && { nanos }) },
    next,
  };
}

export function parseLine(text: string, line: number, precision: Precision = "ns"): LinePoint {
  const { point, next } = readPoint(text, 0, line, precision);
  if (next < text.length && text.slice(next).trim() !== "")
    throw new LineProtocolError(line, "more than one point in a line");
  return point;
}

/**
 * Every point of a body, and every line that is not one (as InfluxDB does: the good lines of a
 * request are written, the bad ones reported). Blank lines and # comments are skipped.
 */
export function parseLines(
  given: string,
  precision: Precision = "ns",
): { points: LinePoint[]; errors: LineProtocolError[] } {
  const body = given.includes("\r") ? given.replace(/\r\n/g, "\n") : given;
  const points: LinePoint[] = [];
  const errors: LineProtocolError[] = [];
  let at = 0;
  let line = 1;
  while (at < body.length) {
    const stop = body.indexOf("\n", at);
    const end = stop === -1 ? body.length : stop;
    const text = body.slice(at, end);
    if (text.trim() === "" || text.trimStart().startsWith("#")) {
      at = end + 1;
      line += 1;
      continue;
    }
    // Leading spaces are not part of the measurement (a tab is refused, as InfluxDB does).
    const start = at + (text.length - text.replace(/^ +/, "").length);
    try {
      const { point, next } = readPoint(body, start, line, precision);
      points.push(point);
      line += countNewlines(body, at, next);
      at = next;
    } catch (error) {
      if (!(error instanceof LineProtocolError)) throw error;
      // A bad line ends at its first newline: what follows is read as the next line.
      errors.push(error);
      at = end + 1;
      line += 1;
    }
  }
  return { points, errors };
}

/** Every point of a body; throws on the first bad line. */
export function parseBody(body: string, precision: Precision = "ns"): LinePoint[] {
  const { points, errors } = parseLines(body, precision);
  if (errors.length > 0) throw errors[0]!;
  return points;
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (text[i] === "\n") n += 1;
  return n;
}

const strict = new TextDecoder("utf-8", { fatal: true });

/** The body as text; bytes that are not UTF-8 are an error naming the line they are on. */
export function utf8Body(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== 0x0a) continue;
      try {
        strict.decode(bytes.subarray(start, i));
      } catch {
        throw new LineProtocolError(line, "not valid UTF-8");
      }
      line += 1;
      start = i + 1;
    }
    throw new LineProtocolError(1, "not valid UTF-8");
  }
}

// A parser for InfluxDB line protocol as Telegraf and the InfluxDB clients write it:
//   measurement[,tag=value…] field=value[,field=value…] [timestamp]
// Escapes as InfluxDB reads them: "\," and "\ " in measurements; "\,", "\=" and "\ " in tag keys,
// tag values and field keys (a backslash before anything else is literal); "\"" and "\\" in
// string field values. Numbers: floats, 12i, 12u; booleans t/true/f/false in any case.
import { LineError } from "../chassis/line-error.js";
export interface LinePoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | string | boolean>;
  /** Milliseconds since the epoch, when the line had a timestamp. */
  timestamp?: number;
}

export type Precision = "ns" | "us" | "ms" | "s";

export class LineProtocolError extends LineError {
  override name = "LineProtocolError";
}

const PER_MS: Record<Precision, bigint> = { ns: 1_000_000n, us: 1_000n, ms: 1n, s: 0n };

/** Reads up to the first unescaped character in `stops`; returns the text and where it stopped. */
function readUntil(text: string, at: number, stops: string, escapable: string): [string, number] {
  let out = "";
  let i = at;
  while (i < text.length && !stops.includes(text[i]!)) {
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

function fieldValue(raw: string, key: string, line: number): number | boolean {
  if (/^[tT](rue|RUE)?$|^True$/.test(raw)) return true;
  if (/^[fF](alse|ALSE)?$|^False$/.test(raw)) return false;
  const integer = /^(-?\d+)[iu]$/.exec(raw);
  if (integer) return Number(integer[1]);
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

export function parseLine(text: string, line: number, precision: Precision = "ns"): LinePoint {
  const [measurement, afterName] = readUntil(text, 0, ", ", ", ");
  if (measurement === "") throw new LineProtocolError(line, "missing measurement");
  let i = afterName;
  const tags: Record<string, string> = {};
  while (text[i] === ",") {
    const [key, eq] = readUntil(text, i + 1, "=, ", ",= ");
    if (text[eq] !== "=" || key === "")
      throw new LineProtocolError(line, `invalid tag after "${measurement}": expected key=value`);
    const [value, end] = readUntil(text, eq + 1, ", ", ",= ");
    if (value === "") throw new LineProtocolError(line, `tag "${key}" has no value`);
    tags[key] = value;
    i = end;
  }
  if (text[i] !== " ") throw new LineProtocolError(line, "missing fields");
  i += 1;
  const fields: LinePoint["fields"] = {};
  for (;;) {
    const [key, eq] = readUntil(text, i, "=, ", ",= ");
    if (text[eq] !== "=" || key === "")
      throw new LineProtocolError(
        line,
        `invalid field near "${text.slice(i, i + 20)}": expected key=value`,
      );
    i = eq + 1;
    if (text[i] === '"') {
      let value = "";
      i += 1;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) i += 1;
        value += text[i];
        i += 1;
      }
      if (text[i] !== '"')
        throw new LineProtocolError(line, `unterminated string in field "${key}"`);
      fields[key] = value;
      i += 1;
    } else {
      const [raw, end] = readUntil(text, i, ", ", "");
      fields[key] = fieldValue(raw, key, line);
      i = end;
    }
    if (text[i] === ",") i += 1;
    else break;
  }
  const rest = text.slice(i).trim();
  if (rest === "") return { measurement, tags, fields };
  if (!/^-?\d+$/.test(rest)) throw new LineProtocolError(line, `invalid timestamp "${rest}"`);
  const ts = BigInt(rest);
  const timestamp = precision === "s" ? Number(ts * 1000n) : Number(ts / PER_MS[precision]);
  return { measurement, tags, fields, timestamp };
}

/** Every point of a body; blank lines and # comments are skipped. Throws on the first bad line. */
export function parseBody(body: string, precision: Precision = "ns"): LinePoint[] {
  const points: LinePoint[] = [];
  body.split("\n").forEach((raw, index) => {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text.trim() === "" || text.trimStart().startsWith("#")) return;
    points.push(parseLine(text, index + 1, precision));
  });
  return points;
}

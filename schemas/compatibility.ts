// Schema evolution rules, checked by the test suite over every registered version:
//   * full compatibility: each version reads data written by every other version of its subject
//     (new readers read old data, old readers read new data);
//   * published versions are frozen: their canonical fingerprint must match published.lock.json.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type avro from "avsc";
import { SCHEMA_VERSIONS, avroType, type SchemaVersion } from "./registry.js";

export interface Incompatibility {
  reader: SchemaVersion;
  writer: SchemaVersion;
  reason: string;
}

/** Why `reader` cannot read data written with `writer`, or undefined when it can. */
export function cannotRead(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function incompatibilities(
  versions: readonly SchemaVersion[] = SCHEMA_VERSIONS,
): Incompatibility[] {
  const found: Incompatibility[] = [];
  for (const reader of versions) {
    for (const writer of versions) {
      if (reader.subject !== writer.subject || reader.id === writer.id) continue;
      const reason = cannotRead(avroType(reader), avroType(writer));
      if (reason) found.push({ reader, writer, reason });
    }
  }
  return found;
}

/** Hash of the schema as avsc normalises it: names, types, order, defaults (docs excluded). */
export function fingerprint(type: avro.Type): string {
  return createHash("sha256").update(JSON.stringify(type.schema())).digest("hex");
}

const lockFile = join(dirname(fileURLToPath(import.meta.url)), "published.lock.json");

export function readLock(): Record<string, string> {
  return JSON.parse(readFileSync(lockFile, "utf8")) as Record<string, string>;
}

export function currentFingerprints(): Record<string, string> {
  return Object.fromEntries(
    SCHEMA_VERSIONS.map((v) => [`${v.subject}@${v.version}#${v.id}`, fingerprint(avroType(v))]),
  );
}

export { lockFile };

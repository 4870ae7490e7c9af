// Every schema version Vigil has ever published, with its wire id. Versions are append-only:
// a published version is never edited (published.lock.json pins each one's fingerprint), and
// each new version must be readable by, and able to read, every older one (see compatibility.ts).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import avro from "avsc";
import type { Subject } from "./types.js";

export interface SchemaVersion {
  /** Written into every record (see codec.ts); unique across subjects, never reused. */
  id: number;
  subject: Subject;
  version: number;
  file: string;
}

export const SCHEMA_VERSIONS: readonly SchemaVersion[] = [
  { id: 101, subject: "metric-batch", version: 1, file: "metric-batch.v1.avsc" },
  { id: 102, subject: "metric-batch", version: 2, file: "metric-batch.v2.avsc" },
  { id: 103, subject: "metric-batch", version: 3, file: "metric-batch.v3.avsc" },
  { id: 201, subject: "log-batch", version: 1, file: "log-batch.v1.avsc" },
  { id: 301, subject: "alert", version: 1, file: "alert.v1.avsc" },
  { id: 302, subject: "alert", version: 2, file: "alert.v2.avsc" },
  { id: 303, subject: "alert", version: 3, file: "alert.v3.avsc" },
  { id: 401, subject: "dead-letter", version: 1, file: "dead-letter.v1.avsc" },
  { id: 402, subject: "dead-letter", version: 2, file: "dead-letter.v2.avsc" },
  { id: 501, subject: "shipper-checkpoint", version: 1, file: "shipper-checkpoint.v1.avsc" },
  { id: 601, subject: "pipeline-state", version: 1, file: "pipeline-state.v1.avsc" },
  { id: 701, subject: "notification-log", version: 1, file: "notification-log.v1.avsc" },
  { id: 801, subject: "silence", version: 1, file: "silence.v1.avsc" },
  { id: 901, subject: "ack", version: 1, file: "ack.v1.avsc" },
  { id: 902, subject: "ack", version: 2, file: "ack.v2.avsc" },
  { id: 1001, subject: "remediation", version: 1, file: "remediation.v1.avsc" },
];

const avroDir = join(dirname(fileURLToPath(import.meta.url)), "avro");
const types = new Map<number, avro.Type>();

export function schemaJson(version: SchemaVersion): object {
  return JSON.parse(readFileSync(join(avroDir, version.file), "utf8")) as object;
}

export function avroType(version: SchemaVersion): avro.Type {
  let type = types.get(version.id);
  if (!type) {
    type = avro.Type.forSchema(schemaJson(version) as avro.Schema);
    types.set(version.id, type);
  }
  return type;
}

const byId = new Map(SCHEMA_VERSIONS.map((v) => [v.id, v]));

export function versionById(id: number): SchemaVersion | undefined {
  return byId.get(id);
}

export function versionsOf(subject: Subject): SchemaVersion[] {
  return SCHEMA_VERSIONS.filter((v) => v.subject === subject).sort((a, b) => a.version - b.version);
}

const latestBySubject = new Map<Subject, SchemaVersion>();

/** The newest version of a subject (asked for every record encoded or decoded: looked up once). */
export function latest(subject: Subject): SchemaVersion {
  let last = latestBySubject.get(subject);
  if (!last) {
    last = versionsOf(subject).at(-1);
    if (!last) throw new Error(`no schema registered for subject "${subject}"`);
    latestBySubject.set(subject, last);
  }
  return last;
}

// Puts Vigil's changes to kafkajs in place, each a file copied over kafkajs's own and saying what
// it changes: services/chassis/kafkajs/filter-aborted-messages.cjs (the read_committed filter let
// aborted records through) and record-encoder.cjs (a record's encoding, without kafkajs's garbage).
// Run after every install: by ensure-deps (npm start, npm test), npm's postinstall, and the
// Dockerfile. Idempotent; refuses a kafkajs it does not know rather than patch blindly. The
// chassis checks at start that the read_committed fix is loaded (services/chassis/kafkajs/fixes.ts).
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const kafkajs = join(root, "node_modules", "kafkajs");
const KNOWN = "2.2.4";
const PATCHES = [
  {
    target: ["src", "consumer", "filterAbortedMessages.js"],
    file: "filter-aborted-messages.cjs",
    marker: "vigil-read-committed-fix",
    done: "read_committed filter fixed (aborted transactions in any order)",
  },
  {
    target: ["src", "protocol", "recordBatch", "record", "v0", "index.js"],
    file: "record-encoder.cjs",
    marker: "vigil-fast-record-encoder",
    done: "records encoded into one buffer each",
  },
];

if (!existsSync(join(kafkajs, "package.json"))) {
  console.log("[vigil] kafkajs not installed; nothing to patch");
  process.exit(0);
}
const version = JSON.parse(readFileSync(join(kafkajs, "package.json"), "utf8")).version;
for (const patch of PATCHES) {
  const target = join(kafkajs, ...patch.target);
  const current = readFileSync(target, "utf8");
  const wanted = readFileSync(join(root, "services", "chassis", "kafkajs", patch.file), "utf8");
  if (current === wanted) continue;
  if (version !== KNOWN && !current.includes(patch.marker)) {
    console.error(
      `[vigil] kafkajs ${version} is not ${KNOWN}: check whether ${target} still needs services/chassis/kafkajs/${patch.file}, then update scripts/patch-kafkajs.mjs`,
    );
    process.exit(1);
  }
  writeFileSync(target, wanted);
  console.log(`[vigil] kafkajs: ${patch.done}`);
}

// Puts Vigil's fix of kafkajs's read_committed filter in place
// (services/chassis/kafkajs/filter-aborted-messages.cjs, which says what it fixes). Run after
// every install: by ensure-deps (npm start, npm test), npm's postinstall, and the Dockerfile.
// Idempotent; refuses a kafkajs it does not know rather than patch blindly. The chassis checks at
// start that the fix is loaded (services/chassis/kafkajs/fixes.ts).
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const kafkajs = join(root, "node_modules", "kafkajs");
const target = join(kafkajs, "src", "consumer", "filterAbortedMessages.js");
const fix = join(root, "services", "chassis", "kafkajs", "filter-aborted-messages.cjs");
const MARKER = "vigil-read-committed-fix";
const KNOWN = "2.2.4";

if (!existsSync(target)) {
  console.log("[vigil] kafkajs not installed; nothing to patch");
  process.exit(0);
}
const version = JSON.parse(readFileSync(join(kafkajs, "package.json"), "utf8")).version;
const current = readFileSync(target, "utf8");
const wanted = readFileSync(fix, "utf8");
if (current === wanted) process.exit(0);
if (version !== KNOWN && !current.includes(MARKER)) {
  console.error(
    `[vigil] kafkajs ${version} is not ${KNOWN}: check whether its read_committed filter (${target}) still leaks aborted records, then update scripts/patch-kafkajs.mjs`,
  );
  process.exit(1);
}
writeFileSync(target, wanted);
console.log("[vigil] kafkajs: read_committed filter fixed (aborted transactions in any order)");

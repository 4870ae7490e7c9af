// npm run schemas:lock — pins the fingerprint of each newly added schema version. Entries
// already in the lock are never rewritten: a published version must not change.
import { writeFileSync } from "node:fs";
import { currentFingerprints, lockFile, readLock } from "./compatibility.js";

const lock = readLock();
const current = currentFingerprints();
let added = 0;
for (const [key, hash] of Object.entries(current)) {
  if (lock[key] === undefined) {
    lock[key] = hash;
    added += 1;
    console.log(`pinned ${key}`);
  } else if (lock[key] !== hash) {
    console.error(`${key} changed after publication; add a new version instead of editing it.`);
    process.exitCode = 1;
  }
}
writeFileSync(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`${added} version(s) pinned in ${lockFile}`);

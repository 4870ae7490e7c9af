// Installs npm dependencies when they are missing or older than package-lock.json, so that
// `npm start`, `npm test` and `npm run stack` work on a fresh clone. A no-op when up to date.
// Plain JavaScript on purpose: it must run before any dependency (tsx, typescript) exists.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const lock = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");

const upToDate = existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs;
if (!upToDate) {
  console.log("[vigil] installing npm dependencies (npm ci)…");
  const started = Date.now();
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) {
    console.error("[vigil] npm ci failed; see the output above.");
    process.exit(result.status ?? 1);
  }
  console.log(
    `[vigil] npm dependencies installed in ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
}

// Vigil's changes to kafkajs (scripts/patch-kafkajs.mjs; a no-op once done).
const patched = spawnSync(process.execPath, [join(root, "scripts", "patch-kafkajs.mjs")], {
  stdio: "inherit",
});
if (patched.status !== 0) process.exit(patched.status ?? 1);

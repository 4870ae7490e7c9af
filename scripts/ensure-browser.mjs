// Installs the browser the console's tests drive — Debian's `chromium` package, never a browser
// download from a vendor site — when it is missing, before `npm test`. A no-op when present or
// when VIGIL_CHROMIUM names one. Needs root and apt-get; elsewhere it says what to run.
// Plain JavaScript: it runs before any dependency exists.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
if (!process.env.VIGIL_CHROMIUM && !CANDIDATES.some((p) => existsSync(p))) {
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    console.error(
      "[vigil] the console's browser tests need Chromium: run `sudo apt-get install -y chromium` (or set VIGIL_CHROMIUM)",
    );
    process.exit(1);
  }
  console.log("[vigil] installing Chromium from Debian's packages (apt-get, once)…");
  const started = Date.now();
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", "--no-install-recommends", "chromium"],
  ]) {
    const result = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (result.status !== 0) {
      console.error(`[vigil] apt-get ${args[0]} failed; see the output above.`);
      process.exit(result.status ?? 1);
    }
  }
  console.log(`[vigil] Chromium installed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

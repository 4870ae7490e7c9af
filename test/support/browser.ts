// A real browser for the console's tests: headless Chromium from Debian's package (installed with
// apt-get the first time, when this machine may; never a browser download from a vendor site),
// driven by playwright-core, which brings no browser of its own.
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { runStep } from "../../deploy/local/progress.js";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

async function chromiumPath(): Promise<string> {
  const given = process.env.VIGIL_CHROMIUM;
  if (given) return given;
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  if (process.getuid?.() !== 0)
    throw new Error(
      "Chromium is not installed: run `sudo apt-get install -y chromium` (or set VIGIL_CHROMIUM to a Chromium binary)",
    );
  await runStep({
    label: "chromium: apt-get update",
    command: "apt-get",
    args: ["update", "-qq"],
  });
  await runStep({
    label: "chromium: apt-get install chromium (once)",
    command: "apt-get",
    args: ["install", "-y", "-qq", "--no-install-recommends", "chromium"],
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  return CANDIDATES.find((p) => existsSync(p)) ?? CANDIDATES[0]!;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

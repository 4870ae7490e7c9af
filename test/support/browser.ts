// A real browser for the console's tests: headless Chromium from Debian's package (installed by
// `npm test`'s pretest, scripts/ensure-browser.mjs), driven by playwright-core, which brings no
// browser of its own.
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

function chromiumPath(): string {
  const path = process.env.VIGIL_CHROMIUM ?? CANDIDATES.find((p) => existsSync(p));
  if (!path)
    throw new Error(
      "Chromium is not installed: `npm test` installs it (scripts/ensure-browser.mjs), or run `sudo apt-get install -y chromium`, or set VIGIL_CHROMIUM",
    );
  return path;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

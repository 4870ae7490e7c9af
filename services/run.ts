// Starts one service by name — the container image's entrypoint:
//   node --import tsx services/run.ts detector      (configuration from VIGIL_CONFIG / VIGIL__…)
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { SERVICES } from "./registry.js";

const name = process.argv[2] ?? "";
const script = (SERVICES as Record<string, string>)[name];
if (!script) {
  console.error(`usage: run.ts <service>; services: ${Object.keys(SERVICES).join(", ")}`);
  process.exit(2);
}
const path = resolve(import.meta.dirname, "..", script);
// The service's module starts itself when it is the main script.
process.argv.splice(1, 2, path);
await import(pathToFileURL(path).href);

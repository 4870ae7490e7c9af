// The Kafka client is the chassis's business: services speak its vocabulary (services/chassis/
// kafka.ts and the consumer, producer and stage built on it), so the client can be changed in one
// place. Tests and benches may reach the client directly (test support aside).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");
const SOURCES = ["services", "pipelines", "schemas", "deploy", "scripts"];

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") yield* files(path);
    } else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name)) yield path;
  }
}

describe("the Kafka client", () => {
  it("is imported only by the chassis", () => {
    const outside: string[] = [];
    let scanned = 0;
    for (const root of SOURCES)
      for (const path of files(join(ROOT, root))) {
        scanned += 1;
        const rel = relative(ROOT, path);
        if (rel.startsWith("services/chassis/")) continue;
        const text = readFileSync(path, "utf8");
        if (/(from\s+|import\(\s*|require\(\s*)["']kafkajs(\/[^"']*)?["']/.test(text))
          outside.push(rel);
      }
    expect(scanned).toBeGreaterThan(100);
    expect(outside).toEqual([]);
  });
});

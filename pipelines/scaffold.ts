// `npm run vigil -- processor new <name> [--stateful]`: writes pipelines/processors/<name>.ts
// (from the function or operator template), its fixture file, and registers it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function source(name: string, stateful: boolean): string {
  const id = camel(name);
  return stateful
    ? `// ${name}: TODO say what it does, and what bounds its state.
import { z } from "zod";
import { defineOperator, seriesKey } from "../api.js";

export const ${id} = defineOperator({
  name: "${name}",
  description: "TODO one sentence for the registry and the docs.",
  config: z.strictObject({}),
  create: (_config, state) => (samples, _context) => {
    for (const sample of samples) state.set(seriesKey(sample), sample.value);
    return { samples };
  },
});
`
    : `// ${name}: TODO say what it does.
import { z } from "zod";
import { defineFunction } from "../api.js";

export const ${id} = defineFunction({
  name: "${name}",
  description: "TODO one sentence for the registry and the docs.",
  config: z.strictObject({}),
  process(samples, _config, _context) {
    return { samples };
  },
});
`;
}

const fixture = (name: string) => `processor: ${name}
config: {}
now: 2026-11-25T10:00:00Z
cases:
  - name: passes a sample through unchanged
    input:
      - { name: cpu_used_percent, value: 50, labels: { host: node-1 } }
    output:
      - { name: cpu_used_percent, value: 50, labels: { host: node-1 } }
`;

export function scaffold(name: string, stateful: boolean): string[] {
  if (!/^[a-z][a-z0-9-]*$/.test(name))
    throw new Error(`processor name: expected lowercase letters, digits and dashes, got "${name}"`);
  const file = join(here, "processors", `${name}.ts`);
  const fixtureFile = join(here, "processors", `${name}.fixtures.yaml`);
  if (existsSync(file)) throw new Error(`${file} exists already`);
  writeFileSync(file, source(name, stateful));
  writeFileSync(fixtureFile, fixture(name));
  const registry = join(here, "registry.ts");
  const current = readFileSync(registry, "utf8");
  const list = /export const PROCESSORS: readonly ProcessorSpec\[\] = \[([^\]]*)\];/.exec(current);
  if (!list) throw new Error(`${registry}: cannot find the PROCESSORS list`);
  const names = [
    ...list[1]!
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean),
    camel(name),
  ];
  const text = current
    .replace(
      'import type { ProcessorSpec } from "./api.js";\n',
      `import type { ProcessorSpec } from "./api.js";\nimport { ${camel(name)} } from "./processors/${name}.js";\n`,
    )
    .replace(
      list[0],
      `export const PROCESSORS: readonly ProcessorSpec[] = [\n${names.map((n) => `  ${n},`).join("\n")}\n];`,
    );
  writeFileSync(registry, text);
  return [file, fixtureFile, registry];
}

// The label regex engine: RE2 (re2js, pure JavaScript — what Vigil runs) against JavaScript's
// backtracking RegExp, on the matchers real configurations hold and on a pathological one.
// A native RE2 binding (npm `re2`) is measured too where one is installed (it is not a
// dependency: its install downloads a prebuilt binary from GitHub or compiles RE2 from source).
import { createRequire } from "node:module";
import { labelRegex } from "../services/chassis/label-regex.js";
import { bench, opsPerSecond } from "./fixtures.js";

const TYPICAL = ["gpu-.*", "critical|major", "node-[0-9]+:9100", ".*_total", "(.+);(.+)"];
const VALUES = [
  "gpu-node-17",
  "major",
  "node-42:9100",
  "gpu_ecc_errors_total",
  "a;b",
  "x".repeat(60),
];

type Tester = (source: string) => (value: string) => boolean;

const engines: [string, Tester][] = [
  ["re2js", (source) => (value) => labelRegex(source).test(value)],
  [
    "js",
    (source) => {
      const re = new RegExp(`^(?:${source})$`, "s");
      return (value) => re.test(value);
    },
  ],
];
try {
  const RE2 = createRequire(import.meta.url)("re2") as new (s: string, f: string) => RegExp;
  engines.push([
    "re2_native",
    (source) => {
      const re = new RE2(`^(?:${source})$`, "s");
      return (value) => re.test(value);
    },
  ]);
} catch {
  // Not installed: its figures are left out.
}

export function regexBench(): void {
  for (const [name, compile] of engines) {
    const tests = TYPICAL.map(compile);
    const perRound = tests.length * VALUES.length;
    const rate =
      opsPerSecond(() => {
        for (const test of tests) for (const value of VALUES) test(value);
      }) * perRound;
    bench(`regex_${name}_matches_per_s`, rate, "matches/s");
    // (a+)+b against n a's: JavaScript's time doubles per extra a; 24 keeps it to a second or so.
    const n = name === "js" ? 24 : 34;
    const redos = compile("(a+)+b");
    const started = performance.now();
    redos("a".repeat(n));
    bench(`regex_${name}_redos_${n}a_ms`, performance.now() - started, "ms");
  }
}

// Run on a machine with an NVIDIA GPU to record real fixtures for the parser tests:
//   tsx services/gpu-agent/record.ts test/fixtures/nvidia-smi/<model>
// writes <model>.csv (the agent's exact query) and <model>.xml (nvidia-smi -q -x).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { GPU_QUERY } from "./nvidia-smi.js";

const prefix = process.argv[2] ?? "recorded";
writeFileSync(
  `${prefix}.csv`,
  execFileSync("nvidia-smi", [
    `--query-gpu=${GPU_QUERY.join(",")}`,
    "--format=csv,noheader,nounits",
  ]),
);
writeFileSync(`${prefix}.xml`, execFileSync("nvidia-smi", ["-q", "-x"]));
console.log(`wrote ${prefix}.csv and ${prefix}.xml`);

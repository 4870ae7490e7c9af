// Run on a machine with an NVIDIA GPU to record real fixtures for the parser tests:
//   tsx services/gpu-agent/record.ts test/fixtures/nvidia-smi/<model>
// writes <model>.help.txt (--help-query-gpu), <model>.csv (the agent's exact query for this
// driver; its fields in <model>.fields), <model>.flags.csv (the Yes/No health flags),
// <model>.apps.csv (--query-compute-apps), <model>.pci.csv (PCI addresses, for Xid lines),
// <model>.nvlink.txt (nvlink -e; empty without NVLink) and <model>.xml (nvidia-smi -q -x).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { APPS_QUERY, FLAGS_QUERY, gpuFieldsFor, parseHelpQueryGpu } from "./nvidia-smi.js";

const prefix = process.argv[2] ?? "recorded";
const smi = (...args: string[]) => execFileSync("nvidia-smi", args);
const help = smi("--help-query-gpu");
const fields = gpuFieldsFor(parseHelpQueryGpu(help.toString()));
writeFileSync(`${prefix}.help.txt`, help);
writeFileSync(`${prefix}.fields`, `${fields.join("\n")}\n`);
writeFileSync(
  `${prefix}.csv`,
  smi(`--query-gpu=${fields.join(",")}`, "--format=csv,noheader,nounits"),
);
writeFileSync(
  `${prefix}.flags.csv`,
  smi(`--query-gpu=${FLAGS_QUERY.join(",")}`, "--format=csv,noheader,nounits"),
);
writeFileSync(
  `${prefix}.apps.csv`,
  smi(`--query-compute-apps=${APPS_QUERY.join(",")}`, "--format=csv,noheader,nounits"),
);
writeFileSync(
  `${prefix}.pci.csv`,
  smi("--query-gpu=index,uuid,pci.bus_id", "--format=csv,noheader"),
);
let nvlink: Buffer | string = "";
try {
  nvlink = smi("nvlink", "-e");
} catch {
  // no NVLink on this machine: the agent leaves the counters out too
}
writeFileSync(`${prefix}.nvlink.txt`, nvlink);
writeFileSync(`${prefix}.xml`, smi("-q", "-x"));
console.log(`wrote ${prefix}.{help.txt,fields,csv,flags.csv,apps.csv,pci.csv,nvlink.txt,xml}`);

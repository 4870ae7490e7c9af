// Recipe: reset the alert's GPU with `nvidia-smi -r -i <uuid>` — run where the GPU is (a node-local
// action hook), after its workloads are drained: a reset fails while processes hold the GPU.
// Dry run unless --apply: prints the command.
import { execFileSync } from "node:child_process";
import { applying, readNotification } from "./kube.js";

const labels = (await readNotification()).alerts[0]?.labels ?? {};
const gpu = labels.uuid ?? labels.gpu;
if (!gpu || !/^(GPU-[0-9a-fA-F-]+|\d+)$/.test(gpu))
  throw new Error(`the alert names no GPU (labels uuid or gpu): ${JSON.stringify(gpu)}`);
const args = ["-r", "-i", gpu];
if (!applying) console.log(`dry run: nvidia-smi ${args.join(" ")}`);
else
  console.log(
    execFileSync(process.env.VIGIL_NVIDIA_SMI ?? "nvidia-smi", args, { encoding: "utf8" }),
  );

// NVIDIA's Xid catalog (docs.nvidia.com/deploy/xid-errors, "Analyzing Xid Errors with the Xid
// Catalog", Ampere and newer): what the driver's kernel-log line "NVRM: Xid (PCI:0000:3b:00): 79,
// pid=…" means and what to do about it. The log pipeline lifts the Xid into attributes with its
// class from here; the AI rule pack pages on it and links the action's runbook. Shared vocabulary:
// the GPU agent (kernel-log input, attribution by PCI address) and the log pipeline both read it.

/** NVIDIA's "resolution bucket (immediate action)", in Vigil's words. */
export const XID_ACTIONS = {
  none: "nothing to do; the driver or the hardware recovered",
  restart_app: "restart the application; check it (CUDA errors, out-of-bounds access)",
  reset_gpu: "drain the GPU's workloads and reset it (nvidia-smi -r)",
  reboot_node: "drain the node and reboot it (a GPU reset cannot reach the device)",
  rma: "take the GPU out of service and contact support (RMA)",
} as const;
export type XidAction = keyof typeof XID_ACTIONS;

export interface XidClass {
  mnemonic: string;
  description: string;
  action: XidAction;
  severity: "critical" | "major" | "minor";
}

const SEVERITY: Record<XidAction, XidClass["severity"]> = {
  none: "minor",
  restart_app: "major",
  reset_gpu: "critical",
  reboot_node: "critical",
  rma: "critical",
};

const entry = (mnemonic: string, description: string, action: XidAction): XidClass => ({
  mnemonic,
  description,
  action,
  severity: SEVERITY[action],
});

export const XID_CATALOG: Readonly<Record<number, XidClass>> = {
  8: entry("ROBUST_CHANNEL_FIFO_ERROR_IDLE_TIMEOUT", "GPU stopped processing", "restart_app"),
  13: entry("ROBUST_CHANNEL_GR_EXCEPTION", "Graphics engine exception", "restart_app"),
  31: entry("ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT", "GPU memory page fault", "restart_app"),
  32: entry("ROBUST_CHANNEL_PBDMA_ERROR", "Invalid or corrupted push buffer stream", "restart_app"),
  43: entry("ROBUST_CHANNEL_RESETCHANNEL_VERIF_ERROR", "GPU stopped processing", "none"),
  45: entry(
    "ROBUST_CHANNEL_PREEMPTIVE_REMOVAL",
    "Preemptive cleanup, due to previous errors",
    "none",
  ),
  48: entry("DBE (Double Bit Error) ECC Error", "Double-bit ECC error", "reset_gpu"),
  61: entry("PMU_BREAKPOINT", "Internal micro-controller breakpoint/warning", "reset_gpu"),
  62: entry("PMU_HALT_ERROR", "Internal micro-controller halt", "reset_gpu"),
  63: entry("INFOROM_DRAM_RETIREMENT_EVENT", "Row remapping (page retirement) recorded", "none"),
  64: entry("INFOROM_DRAM_RETIREMENT_FAILURE", "Row remapping (page retirement) failure", "rma"),
  68: entry("NVDEC0_EXCEPTION", "Video processor exception", "restart_app"),
  69: entry("GR_CLASS_ERROR", "Graphics engine class error", "restart_app"),
  74: entry("NVLINK_ERROR", "NVLink error", "reset_gpu"),
  79: entry("GPU_HAS_FALLEN_OFF_THE_BUS", "GPU has fallen off the bus", "reboot_node"),
  92: entry("EXCESSIVE_SBE_INTERRUPTS", "High single-bit ECC error rate", "none"),
  94: entry("ROBUST_CHANNEL_CONTAINED_ERROR", "Contained ECC error", "restart_app"),
  95: entry("ROBUST_CHANNEL_UNCONTAINED_ERROR", "Uncontained ECC error", "reset_gpu"),
  109: entry("ROBUST_CHANNEL_CTXSW_TIMEOUT_ERROR", "Context switch timeout", "restart_app"),
  119: entry("GSP_RPC_TIMEOUT", "GSP RPC timeout", "reset_gpu"),
  120: entry("GSP_ERROR", "GSP error", "reset_gpu"),
  121: entry("C2C_LINK_CORRECTED_ERROR", "C2C link corrected error", "none"),
  136: entry("ROBUST_CHANNEL_FAST_PATH_ERROR", "Fault recovery timeout", "reset_gpu"),
  140: entry("ECC_UNRECOVERABLE_ERROR", "Unrecovered ECC error", "reset_gpu"),
  143: entry("GPU_INIT_ERROR", "GPU initialisation failure", "reboot_node"),
  145: entry("RLW_REMAP_ERROR", "NVLink remap error", "reset_gpu"),
  149: entry("NETIR_LINK_EVT", "NVLink (NETIR) link event", "reset_gpu"),
  154: entry("GPU_RECOVERY_ACTION_CHANGED", "GPU recovery action changed", "reset_gpu"),
};

/** Xids not in the catalog: the cautious class, so an unknown Xid still pages someone to look. */
const UNKNOWN = entry("UNKNOWN", "Xid not in Vigil's catalog", "restart_app");

export function xidClass(xid: number): XidClass {
  return XID_CATALOG[xid] ?? UNKNOWN;
}

/** The driver's line: "NVRM: Xid (PCI:0000:3b:00): 79, pid=…, GPU has fallen off the bus." */
export const XID_LINE = /NVRM: Xid \(PCI:([0-9a-fA-F:.]+)\): (\d+)/;

/**
 * The PCI bus id as nvidia-smi writes it (00000000:3B:00.0) from the kernel's (0000:3b:00): so a
 * log line and the GPU's samples name the same device.
 */
export function pciBusId(kernel: string): string {
  const parts = kernel.toUpperCase().split(":");
  const [bus, device = "00"] = parts.length >= 3 ? parts.slice(1) : parts.slice(-2);
  const domain = parts.length >= 3 ? parts[0]! : "0000";
  const [dev, fn = "0"] = device.split(".");
  return `${domain.padStart(8, "0")}:${bus!.padStart(2, "0")}:${dev!.padStart(2, "0")}.${fn}`;
}

/** Xid 154 names the recovery it needs in its message ("... Node Reboot Required"). */
export function recoveryActionOf(message: string): XidAction | undefined {
  if (/node reboot required/i.test(message)) return "reboot_node";
  if (/gpu reset required/i.test(message)) return "reset_gpu";
  if (/drain and reset/i.test(message)) return "reset_gpu";
  if (/recovery action changed.*none/i.test(message)) return "none";
  return undefined;
}

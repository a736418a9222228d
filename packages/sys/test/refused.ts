/**
 * A kernel that refuses a feature by policy: its probe answers EPERM although the process holds every
 * capability bpf(2) asks for (CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_PERFMON). Some hardened or
 * sandboxed kernels do this (one host seen refuses BPF_MAP_TYPE_ARENA so), and no privilege changes
 * it: a kernel test then reports the feature unsupported, with the reason, instead of failing.
 */
import { hasAllBpfCapabilities, probeFeature, probeProgType, requireFeature, UnsupportedFeatureError, type FeatureName } from "@x/sys";
import { ProgType } from "@x/sys/abi";
import { KernelConfigError } from "./modules.js";

/** A probe's answer, as `probeFeature` or `xbpf probe --json` gives it. */
export interface ProbeAnswer {
  readonly name: string;
  readonly status: string;
  readonly errno?: string | null;
  readonly error?: string | null;
}

/**
 * The {@link KernelConfigError} for a probe the kernel refused by policy, or undefined when the
 * answer is anything else (which the caller then checks as usual).
 */
export function refusedByPolicy(r: ProbeAnswer): KernelConfigError | undefined {
  const eperm = r.errno === "EPERM" || /\bEPERM\b/.test(r.error ?? "");
  if (r.status !== "unknown" || !eperm || !hasAllBpfCapabilities()) return undefined;
  // One word, as the matrix reads it ("prog_type EXT" becomes prog_type_EXT).
  return new KernelConfigError(r.name.replace(/\s+/g, "_"), "a kernel that allows it to a process with CAP_BPF and CAP_SYS_ADMIN",
    `refused by the kernel's policy: ${r.error ?? "EPERM"}, although this process has CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN and CAP_PERFMON`);
}

/**
 * `requireFeature(name)` for a kernel test: unsupported (an `UnsupportedFeatureError`) when the
 * kernel lacks the feature or refuses it by policy; any other inconclusive probe still throws.
 */
export function requireFeatureForTest(name: FeatureName): void {
  const refused = refusedByPolicy(probeFeature(name));
  if (refused) throw refused;
  requireFeature(name);
}

/**
 * The same for a program type (`"EXT"`, `"TRACING"`…): unsupported when the kernel lacks it or
 * refuses it by policy (one host seen refuses tracing, freplace and LSM programs so); any other
 * inconclusive probe throws.
 */
export function requireProgTypeForTest(name: keyof typeof ProgType): void {
  const r = probeProgType(ProgType[name]);
  const refused = refusedByPolicy(r);
  if (refused) throw refused;
  if (r.status === "missing") throw new UnsupportedFeatureError(`prog_type_${name.toLowerCase()}`, r.minKernel, `program type ${name}`);
  if (r.status !== "supported") throw new Error(`cannot tell whether the kernel has program type ${name}: ${r.error}`);
}

/**
 * A kernel that refuses a feature by policy: its probe answers EPERM although the process holds every
 * capability bpf(2) asks for (CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_PERFMON). Some hardened or
 * sandboxed kernels do this (one host seen refuses BPF_MAP_TYPE_ARENA so), and no privilege changes
 * it: a kernel test then reports the feature unsupported, with the reason, instead of failing.
 */
import { hasAllBpfCapabilities, probeFeature, requireFeature, type FeatureName } from "@x/sys";
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
  return new KernelConfigError(r.name, "a kernel that allows it to a process with CAP_BPF and CAP_SYS_ADMIN",
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

/** This process's effective capabilities, as bpf(2) checks them. */
import { readFileSync } from "node:fs";

/** Capability numbers bpf(2) checks (`linux/capability.h`). */
export const Capability = { NET_ADMIN: 12, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;

/** The effective capability set (`CapEff` of /proc/self/status), or undefined where it cannot be read. */
export function effectiveCapabilities(): bigint | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? BigInt(`0x${m[1]}`) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether this process holds every capability bpf(2) asks for (CAP_BPF, CAP_SYS_ADMIN,
 * CAP_NET_ADMIN, CAP_PERFMON): an EPERM then is the kernel's policy, not a missing privilege.
 */
export function hasAllBpfCapabilities(): boolean {
  const eff = effectiveCapabilities();
  return eff !== undefined && Object.values(Capability).every((c) => (eff >> BigInt(c)) & 1n);
}

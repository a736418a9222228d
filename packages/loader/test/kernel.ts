/**
 * Shared guard and helpers for the loader and CLI kernel tests.
 *
 * Kernel tests need root and a working bpf(2); pinning tests also a bpffs on /sys/fs/bpf. Outside
 * CI a missing kernel skips them with a visible warning; with `process.env.CI` set it is a loud
 * failure at import time, so a CI run can never go green by skipping. Interop tests additionally
 * need the reference tools (see reference.ts): same rule.
 *
 * Kernel test files (`*.kernel.test.ts`) run in the VM matrix too: this module uses nothing but
 * Node and @x/sys, never a host tool.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { LoadedObject } from "@x/loader";
import { mapLookup, UnsupportedFeatureError } from "@x/sys";
import { haveKernel } from "../../sys/test/kernel.js";
import { KernelConfigError, loadKernelModule } from "../../sys/test/modules.js";

export { fixture } from "./fixtures.js";

function missing(what: string, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env.CI) {
    throw new Error(`${what} cannot run in CI: ${reason}. Refusing to skip silently.`);
  }
  console.warn(`[@x/loader] skipping ${what}: ${reason}`);
  return true;
}

/**
 * True when kernel tests can run here (root, bpf(2) permitted). Use with `describe.runIf(haveKernel)`.
 * The check (and its CI rule) is @x/sys's own test guard.
 */
export { haveKernel };

function bpffsProblem(): string | undefined {
  if (!haveKernel) return "no kernel access";
  const mounts = readFileSync("/proc/mounts", "utf8");
  if (!/ \/sys\/fs\/bpf bpf /.test(mounts)) return "no bpffs mounted on /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)";
  return undefined;
}

let bpffs: boolean | undefined;
/** True when a bpffs is mounted on /sys/fs/bpf (pinning tests). Evaluated on first use. */
export function haveBpffs(): boolean {
  return (bpffs ??= !missing("pinning tests", bpffsProblem()));
}

/** A fresh directory under /sys/fs/bpf; remove it (recursively) with the returned function. */
export function bpffsDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(`/sys/fs/bpf/${prefix}-`);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Number of fds the process has open right now. */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/**
 * The value of an internal map (by section or map name) as the kernel returns it from
 * BPF_MAP_LOOKUP_ELEM: an independent read, not through the loader's mmap'd view.
 */
export function kernelValue(obj: LoadedObject, map: string): DataView {
  const m = obj.map(map);
  const value = new Uint8Array(m.spec.valueSize);
  if (!mapLookup(m.fd, new Uint8Array(4), value)) throw new Error(`map ${m.name} has no key 0`);
  return new DataView(value.buffer);
}

/**
 * nf_conntrack loaded (a module on Debian's kernels, built in on the test host) with BTF a program can
 * find its kfuncs in; throws an unsupported error with the reason otherwise.
 */
export function requireNfConntrack(): void {
  const m = loadKernelModule("nf_conntrack");
  if (!m.loaded) throw new KernelConfigError(m.feature, m.needs, m.reason);
  // A module without BTF of its own (before 5.11) has no kfuncs a program can find.
  if (!m.builtin && !m.btf) throw new UnsupportedFeatureError("module_btf", "5.11", `nf_conntrack is a module without BTF: ${m.noBtf}`);
}

/** `load()`, with a missing nf_conntrack kfunc (they came with 6.0) as an unsupported error. */
export function withNfConntrackKfuncs<T>(load: () => T): T {
  try {
    return load();
  } catch (e) {
    if ((e as { code?: string }).code === "OBJECT_UNRESOLVED_EXTERN") throw new UnsupportedFeatureError("nf_conntrack_kfuncs", "6.0", (e as Error).message);
    throw e;
  }
}

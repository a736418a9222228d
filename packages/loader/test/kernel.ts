/**
 * Shared guard and helpers for the loader and CLI kernel tests.
 *
 * Kernel tests need root and a working bpf(2). Outside CI a missing kernel skips them with a
 * visible warning; with `process.env.CI` set it is a loud failure at import time, so a CI run can
 * never go green by skipping. Interop tests additionally need the reference tools (bpftool,
 * llvm-readelf-19): same rule.
 *
 * Kernel test files (`*.kernel.test.ts`) run in the VM matrix too: this module uses nothing but
 * Node and @x/sys, never a host tool.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BpfCmd, bpfRaw, MapCreateAttr, MapFd } from "@x/sys";

/** Absolute path of a fixture object, e.g. `fixture("globals")` → …/fixtures/obj/globals.bpf.o. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../../fixtures/obj/${name}.bpf.o`, import.meta.url));
}

function missing(what: string, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env.CI) {
    throw new Error(`${what} cannot run in CI: ${reason}. Refusing to skip silently.`);
  }
  console.warn(`[@x/loader] skipping ${what}: ${reason}`);
  return true;
}

function kernelProblem(): string | undefined {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not running as root";
  try {
    const attr = MapCreateAttr.encode({ map_type: 2, key_size: 4, value_size: 4, max_entries: 1 }, true);
    const r = bpfRaw(BpfCmd.MAP_CREATE, attr);
    if (r.result < 0) return `bpf(BPF_MAP_CREATE) failed with errno ${r.errno}`;
    new MapFd(r.result).close();
  } catch (e) {
    return `bpf(2) unavailable: ${(e as Error).message}`;
  }
  return undefined;
}

/** True when kernel tests can run here (root, bpf(2) permitted). Use with `describe.runIf(haveKernel)`. */
export const haveKernel = !missing("kernel tests (root and bpf(2) needed)", kernelProblem());

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

/**
 * The running kernel's version, from uname(2) (via `os.release()`).
 *
 * @packageDocumentation
 */
import { release } from "node:os";

/** A parsed kernel version. */
export interface KernelVersion {
  major: number;
  minor: number;
  patch: number;
  /** The full release string, e.g. `6.18.44-fc-v669`. */
  release: string;
  /** `KERNEL_VERSION(major, minor, patch)` as the kernel encodes it (patch capped at 255). */
  code: number;
}

/** Parse a release string such as `6.1.0-18-amd64` or `5.15.0`. Throws on anything else. */
export function parseKernelVersion(rel: string): KernelVersion {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m) throw new Error(`cannot parse kernel release "${rel}"`);
  const major = Number(m[1]), minor = Number(m[2]), patch = Number(m[3] ?? 0);
  return { major, minor, patch, release: rel, code: (major << 16) + (minor << 8) + Math.min(patch, 255) };
}

let cached: KernelVersion | undefined;
/** The running kernel's version (cached). */
export function kernelVersion(): KernelVersion {
  cached ??= parseKernelVersion(release());
  return cached;
}

/** Compare two `"major.minor"` / `"major.minor.patch"` strings or versions: negative, 0 or positive. */
export function compareKernelVersions(a: string | KernelVersion, b: string | KernelVersion): number {
  const pa = typeof a === "string" ? parseKernelVersion(a) : a;
  const pb = typeof b === "string" ? parseKernelVersion(b) : b;
  return pa.major - pb.major || pa.minor - pb.minor || pa.patch - pb.patch;
}

/**
 * The running kernel's version, from uname(2) (via `os.release()`), and `LINUX_KERNEL_VERSION`
 * as libbpf computes it (`get_kernel_version()` in libbpf_probes.c), which is not always the same
 * number: distributions keep the release string of a stable series (`5.10.0-32-amd64`) while the
 * kernel's `LINUX_VERSION_CODE` follows the upstream sublevel (5.10.223).
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { release, version } from "node:os";
import { KernelVersionError } from "../errors.js";
import { ProcessCache } from "../kernel/cache.js";

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

/** The kernel's `KERNEL_VERSION(a, b, c)` macro: `(a << 16) + (b << 8) + min(c, 255)`, as an unsigned 32-bit number. */
export function kernelVersionCode(major: number, minor: number, patch: number): number {
  return ((major << 16) + (minor << 8) + Math.min(patch, 255)) >>> 0;
}

/** Where libbpf found the version: Ubuntu's `/proc/version_signature`, Debian's uname version, or the uname release. */
export type LibbpfKernelVersionSource = "ubuntu" | "debian" | "uname";

/** `LINUX_KERNEL_VERSION` as libbpf computes it, and where it came from. */
export interface LibbpfKernelVersion {
  major: number;
  minor: number;
  /** The patch level as found (the code caps it at 255). */
  patch: number;
  /** `KERNEL_VERSION(major, minor, patch)`. */
  code: number;
  source: LibbpfKernelVersionSource;
}

/** What libbpf's `get_kernel_version()` reads. */
export interface LibbpfKernelVersionInputs {
  /** The text of `/proc/version_signature` (Ubuntu), or undefined when it cannot be read. */
  versionSignature?: string | undefined;
  /** uname(2) `version` (`os.version()`), e.g. `#1 SMP Debian 5.10.223-1 (2024-08-10)`. */
  utsVersion: string;
  /** uname(2) `release` (`os.release()`), e.g. `5.10.0-32-amd64`. */
  utsRelease: string;
}

const triple = (m: RegExpExecArray | null): [number, number, number] | undefined =>
  m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;

/**
 * libbpf's `get_kernel_version()` on given inputs (pure): the first of these that gives three
 * numbers and a non-zero code wins, else undefined (libbpf returns 0, and a load that needs
 * `LINUX_KERNEL_VERSION` fails).
 *
 * 1. Ubuntu: `/proc/version_signature` is `Ubuntu 5.4.0-12.15-generic 5.4.8`; the third field is
 *    the version (`fscanf("%*s %*s %u.%u.%u")`).
 * 2. Debian: the uname version holds `Debian 4.19.260-1`; the numbers after the first
 *    `"Debian "` (`strstr` + `sscanf("Debian %u.%u.%u")`).
 * 3. The uname release, which must start with `X.Y.Z` (`sscanf("%u.%u.%u")`: `6.1` alone does not do).
 */
export function libbpfKernelVersionFrom(inputs: LibbpfKernelVersionInputs): LibbpfKernelVersion | undefined {
  const candidates: [LibbpfKernelVersionSource, [number, number, number] | undefined][] = [];
  if (inputs.versionSignature !== undefined) {
    candidates.push(["ubuntu", triple(/^\s*\S+\s+\S+\s+(\d+)\.(\d+)\.(\d+)/.exec(inputs.versionSignature))]);
  }
  const at = inputs.utsVersion.indexOf("Debian ");
  if (at >= 0) candidates.push(["debian", triple(/^Debian\s*(\d+)\.(\d+)\.(\d+)/.exec(inputs.utsVersion.slice(at)))]);
  candidates.push(["uname", triple(/^\s*(\d+)\.(\d+)\.(\d+)/.exec(inputs.utsRelease))]);
  for (const [source, v] of candidates) {
    if (!v) continue;
    const code = kernelVersionCode(...v);
    if (code !== 0) return { major: v[0], minor: v[1], patch: v[2], code, source };
  }
  return undefined;
}

/** Where Ubuntu kernels publish their upstream version. */
export const VERSION_SIGNATURE_PATH = "/proc/version_signature";

function readVersionSignature(): string | undefined {
  try {
    return readFileSync(VERSION_SIGNATURE_PATH, "utf8");
  } catch {
    return undefined; // libbpf: not readable, not Ubuntu
  }
}

/** The running kernel's `LINUX_KERNEL_VERSION` as libbpf computes it, computed once per process. */
export const libbpfKernelVersionCache: ProcessCache<LibbpfKernelVersion> = new ProcessCache("LINUX_KERNEL_VERSION", () => {
  const inputs = { versionSignature: readVersionSignature(), utsVersion: version(), utsRelease: release() };
  const v = libbpfKernelVersionFrom(inputs);
  if (!v) throw new KernelVersionError(inputs.utsRelease, inputs.utsVersion);
  return v;
});

/** `LINUX_KERNEL_VERSION` of the running kernel, with where it came from ({@link libbpfKernelVersionFrom}; cached). */
export function libbpfKernelVersion(): LibbpfKernelVersion {
  return libbpfKernelVersionCache.get();
}

/**
 * `LINUX_KERNEL_VERSION` of the running kernel as libbpf computes it: the value of the virtual
 * `__kconfig` extern, and what libbpf passes as `kern_version` for kprobes. Cached per process.
 * @throws {@link KernelVersionError} when no source gives a version.
 */
export function libbpfKernelVersionCode(): number {
  return libbpfKernelVersion().code;
}

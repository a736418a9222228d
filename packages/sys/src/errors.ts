/**
 * Errors raised by @x/sys. Each has a stable `code`.
 *
 * @packageDocumentation
 */
import { XError } from "@x/elf";
import { commandName } from "./abi/consts.js";
import { errnoName, kernelOnlyDescription } from "./abi/errno.js";
import { strerror } from "./native.js";

/** A failed bpf(2) call. */
export class BpfSyscallError extends XError<"BPF_SYSCALL"> {
  /** Command name, e.g. `BPF_PROG_LOAD`. */
  readonly command: string;
  /** Command number. */
  readonly cmd: number;
  /** errno returned by the kernel. */
  readonly errno: number;
  /** errno name, e.g. `EPERM` (or `E<n>` when unknown). */
  readonly errnoName: string;
  /** Verifier log (PROG_LOAD) or BTF log (BTF_LOAD), when one was collected. */
  readonly log?: string;

  constructor(cmd: number, errno: number, options: { log?: string; detail?: string } = {}) {
    const name = errnoName(errno);
    const desc = kernelOnlyDescription(errno) ?? strerror(errno);
    const command = commandName(cmd);
    const detail = options.detail ? ` (${options.detail})` : "";
    const log = options.log ? `\n${tailLines(options.log, 20)}` : "";
    super("BPF_SYSCALL", `${command} failed: ${name} (${desc})${detail}${log}`);
    this.command = command;
    this.cmd = cmd;
    this.errno = errno;
    this.errnoName = name;
    this.log = options.log;
  }
}

/** The running kernel lacks a feature this operation needs. */
export class UnsupportedFeatureError extends XError<"UNSUPPORTED_FEATURE"> {
  constructor(
    /** Feature name (see {@link FEATURES}). */
    readonly feature: string,
    /** The kernel version that introduced the feature (e.g. `"5.2"`). */
    readonly minKernel: string,
    /** What the kernel lacks, in words. */
    readonly description: string,
  ) {
    super("UNSUPPORTED_FEATURE", `the running kernel does not support ${feature}: ${description} (needs Linux ${minKernel} or newer)`);
  }
}

/** Use of a closed file descriptor handle. */
export class FdClosedError extends XError<"FD_CLOSED"> {
  constructor(
    /** The handle's kind (`map`, `prog`, `btf`, `link`...). */
    readonly kind: string,
  ) {
    super("FD_CLOSED", `${kind} file descriptor handle used after close()`);
  }
}

/** Stable codes of {@link MappedMemoryError}. */
export type MappedMemoryErrorCode = "MMAP_DISPOSED" | "MMAP_READONLY" | "MMAP_OUT_OF_BOUNDS";

/** Misuse of mapped memory: access after unmap, a write to a read-only mapping, or out of bounds. */
export class MappedMemoryError extends XError<MappedMemoryErrorCode> {
  constructor(code: MappedMemoryErrorCode, message: string) {
    super(code, message);
  }
}

function tailLines(s: string, n: number): string {
  const lines = s.trimEnd().split("\n");
  return lines.length <= n ? lines.join("\n") : [`... (${lines.length - n} earlier lines in .log)`, ...lines.slice(-n)].join("\n");
}

/** A failed non-bpf system call (mmap, munmap). */
export class SyscallError extends XError<"SYSCALL"> {
  /** errno name, e.g. `EPERM`. */
  readonly errnoName: string;
  constructor(
    /** The system call, e.g. `mmap`. */
    readonly syscall: string,
    /** errno returned. */
    readonly errno: number,
    detail?: string,
  ) {
    const name = errnoName(errno);
    super("SYSCALL", `${syscall} failed: ${name} (${kernelOnlyDescription(errno) ?? strerror(errno)})${detail ? ` (${detail})` : ""}`);
    this.errnoName = name;
  }
}

/** Stable codes of {@link KallsymsError}. */
export type KallsymsErrorCode = "KALLSYMS_UNREADABLE" | "KALLSYMS_HIDDEN" | "KALLSYMS_MALFORMED" | "KALLSYMS_AMBIGUOUS";

/**
 * `/proc/kallsyms` cannot answer: it cannot be read (`KALLSYMS_UNREADABLE`, with the `fs` code in
 * `errno`), it lists every address as 0 because the kernel hides them from this process
 * (`KALLSYMS_HIDDEN`), a line is not `ADDRESS TYPE NAME [MODULE]` (`KALLSYMS_MALFORMED`, `line`),
 * or a name has more than one address (`KALLSYMS_AMBIGUOUS`, `symbol`, `addresses` in hex).
 * "No such symbol" is not an error: lookups return `undefined`.
 */
export class KallsymsError extends XError<KallsymsErrorCode> {
  /** The file, `/proc/kallsyms` unless a test parsed other text. */
  readonly path: string;
  /** `fs` code of the failed read (`ENOENT`: a kernel without `CONFIG_KALLSYMS`; `EACCES`…). */
  readonly errno?: string;
  /** The 1-based line that could not be parsed. */
  readonly line?: number;
  /** The symbol looked up, when the error is about one. */
  readonly symbol?: string;
  /** Every distinct address of an ambiguous symbol, as `0x…` hex. */
  readonly addresses?: readonly string[];

  constructor(
    code: KallsymsErrorCode,
    message: string,
    details: { path: string; errno?: string; line?: number; symbol?: string; addresses?: readonly string[] },
    options?: ErrorOptions,
  ) {
    super(code, message, {}, options);
    this.path = details.path;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.line !== undefined) this.line = details.line;
    if (details.symbol !== undefined) this.symbol = details.symbol;
    if (details.addresses !== undefined) this.addresses = details.addresses;
  }
}

/** Stable codes of {@link KconfigError}. */
export type KconfigErrorCode = "KCONFIG_UNREADABLE";

/**
 * The running kernel's configuration cannot be had: neither `/boot/config-$(uname -r)` nor
 * `/proc/config.gz` can be read (`KCONFIG_UNREADABLE`; `attempts` says what each read gave).
 */
export class KconfigError extends XError<KconfigErrorCode> {
  /** Each file tried, in order, with the `fs` code (or message) of its failure. */
  readonly attempts?: readonly { path: string; error: string }[];

  constructor(code: KconfigErrorCode, message: string, details: { attempts?: readonly { path: string; error: string }[] } = {}) {
    super(code, message);
    if (details.attempts !== undefined) this.attempts = details.attempts;
  }
}

/**
 * `LINUX_KERNEL_VERSION` cannot be computed as libbpf does: no Ubuntu `/proc/version_signature`,
 * no `Debian X.Y.Z` in the uname version, and a uname release that is not `X.Y.Z…`.
 * `code` is `KERNEL_VERSION_UNKNOWN`.
 */
export class KernelVersionError extends XError<"KERNEL_VERSION_UNKNOWN"> {
  constructor(
    /** uname(2) release (`os.release()`). */
    readonly release: string,
    /** uname(2) version (`os.version()`). */
    readonly version: string,
  ) {
    super(
      "KERNEL_VERSION_UNKNOWN",
      `cannot tell the running kernel's LINUX_VERSION_CODE: no /proc/version_signature, no "Debian X.Y.Z" in the uname version "${version}", and the release "${release}" is not X.Y.Z`,
    );
  }
}

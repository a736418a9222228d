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

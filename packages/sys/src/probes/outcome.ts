/**
 * What a failed probe means. A probe has three answers: `supported`, `missing` (the kernel said it
 * does not know the command, attribute, type, flag or kind) and `unknown` (the probe could not
 * tell: no permission, no memory, no fds, an unreadable file…). Only `missing` may change what a
 * loader does; `unknown` surfaces as {@link ProbeInconclusiveError}. One classification serves
 * the feature probes (`features.ts`) and the program/attach type probes (`types.ts`).
 *
 * @packageDocumentation
 */
import { XError } from "@x/elf";
import { BpfSyscallError } from "../errors.js";
import { hasAllBpfCapabilities } from "../kernel/capabilities.js";

/** `supported`, `missing`, or `unknown` (the probe could not tell; see the reason). */
export type ProbeStatus = "supported" | "missing" | "unknown";

/** The answer of one probe, with why when it is not `supported`. */
export interface ProbeOutcome {
  /** The answer. */
  status: ProbeStatus;
  /** errno name of the failure that decided it (`EINVAL`, `EPERM`, or an `fs` code such as `EACCES`), when there was one. */
  errno?: string;
  /** Why (first line of the error, or what the probe saw), when the answer is not `supported`. */
  error?: string;
}

/**
 * errno names by which the kernel says it does not know something: an unknown command, map or
 * program type, flag or BTF kind is `EINVAL`; a non-zero `bpf_attr`/info field past the end of
 * what it knows is `E2BIG`; `EOPNOTSUPP` and the kernel-internal `ENOTSUPP` (524) are "not
 * supported here" (no JIT for kfuncs, a type configured out).
 */
export const MISSING_ERRNOS: ReadonlySet<string> = new Set(["EINVAL", "E2BIG", "EOPNOTSUPP", "ENOTSUPP"]);

/** How a probe reads a verifier rejection of its program (`EACCES` with a verifier log). */
export interface ClassifyOptions {
  /**
   * `missing` when the probe program uses the feature itself, so the verifier refusing it is
   * the kernel refusing the feature (kfunc calls, `ld_imm64` pseudo sources); `unknown` (the
   * default) when the program is a trivial one that any kernel should accept.
   */
  readonly verifierRejection?: "missing" | "unknown";
}

/** An explicit answer from inside a probe that has nothing to do with an errno ("the kernel's BTF has no FUNC x"). */
export class ProbeAnswer extends Error {
  constructor(
    readonly status: "missing" | "unknown",
    message: string,
    /** The errno (or `fs` code) behind it, when there is one. */
    readonly errno?: string,
  ) {
    super(message);
    this.name = "ProbeAnswer";
  }
}

const firstLine = (s: string): string => s.split("\n")[0]!;

/**
 * What an error thrown by a probe means: see {@link MISSING_ERRNOS} and {@link ClassifyOptions};
 * every other errno (`EPERM`, `ENOMEM`, `EMFILE`, `ENFILE`, `EFAULT`, `EBUSY`, `EAGAIN`, `EBADF`…)
 * and every error that is not a bpf(2) failure (an unreadable file, a bug) is `unknown`.
 */
export function classifyProbeError(e: unknown, options: ClassifyOptions = {}): ProbeOutcome {
  if (e instanceof ProbeAnswer) return { status: e.status, error: e.message, ...(e.errno ? { errno: e.errno } : {}) };
  if (e instanceof BpfSyscallError) {
    const error = firstLine(e.message);
    const errno = e.errnoName;
    if (MISSING_ERRNOS.has(errno)) return { status: "missing", errno, error };
    if (errno === "EACCES" && e.log?.trim()) {
      const why = `${error}: the verifier rejected the probe program (${lastLine(e.log)})`;
      return { status: options.verifierRejection === "missing" ? "missing" : "unknown", errno, error: why };
    }
    return { status: "unknown", errno, error };
  }
  const code = (e as { code?: unknown } | undefined)?.code;
  const message = e instanceof Error ? firstLine(e.message) : String(e);
  return { status: "unknown", error: message, ...(typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? { errno: code } : {}) };
}

function lastLine(log: string): string {
  return log.trimEnd().split("\n").at(-1)!.trim();
}

/**
 * Run one probe: `supported` when `fn` returns, otherwise what its error means
 * ({@link classifyProbeError}).
 */
export function runProbe(fn: () => void, options?: ClassifyOptions): ProbeOutcome {
  try {
    fn();
    return { status: "supported" };
  } catch (e) {
    return classifyProbeError(e, options);
  }
}

/** What an errno usually means for a probe, as a hint for people. */
const HINTS: Readonly<Record<string, string>> = {
  EPERM: "bpf(2) needs root or CAP_BPF (with CAP_PERFMON / CAP_NET_ADMIN for some program types), and kernel.unprivileged_bpf_disabled may forbid it",
  EACCES: "a security module or the verifier refused it",
  ENOMEM: "out of memory, or (before Linux 5.11) RLIMIT_MEMLOCK too low",
  EMFILE: "the process has too many open files",
  ENFILE: "the system has too many open files",
};

/** EPERM although the process holds every capability bpf(2) checks. */
const POLICY_HINT = "this process has CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN and CAP_PERFMON, so the kernel refuses it by policy (a security module, or a hardened or sandboxed kernel)";

/**
 * A probe could not tell whether the running kernel has a feature (permission, resources, an
 * unreadable file…), so nothing may be decided from it. `code` is `PROBE_INCONCLUSIVE`.
 */
export class ProbeInconclusiveError extends XError<"PROBE_INCONCLUSIVE"> {
  constructor(
    /** The feature (or `prog_type X`, `attach_type Y (X)`) that could not be probed. */
    readonly feature: string,
    /** Why: the first line of the probe's error. */
    readonly reason: string,
    /** errno name (or `fs` code) behind it, when there is one. */
    readonly errno?: string,
  ) {
    const hint = errno === "EPERM" && hasAllBpfCapabilities() ? `; ${POLICY_HINT}` : errno && HINTS[errno] ? `; ${HINTS[errno]}` : "";
    super("PROBE_INCONCLUSIVE", `cannot tell whether the running kernel supports ${feature}: its probe failed with ${errno ?? "an error"} (${reason})${hint}`);
  }
}

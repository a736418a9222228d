/** Errors about an object as a whole: its maps, programs and variables, before and after load. */
import { type ErrorLocation, XError } from "@x/elf";

/** Stable codes of {@link ObjectError}. */
export type ObjectErrorCode =
  | "OBJECT_NO_SUCH_VARIABLE"
  | "OBJECT_NO_SUCH_PROGRAM"
  | "OBJECT_NO_SUCH_MAP"
  | "OBJECT_BAD_MAP_DEFINITION"
  | "OBJECT_UNSUPPORTED_PROGRAM"
  | "OBJECT_NOT_PATCHABLE"
  | "OBJECT_READ_ONLY"
  | "OBJECT_BAD_VALUE"
  | "OBJECT_DISPOSED"
  /** The object is for the other byte order than this kernel's. */
  | "OBJECT_WRONG_BYTE_ORDER"
  /** A strong extern the kernel cannot resolve (no such config, symbol or BTF type), or of an incompatible type. */
  | "OBJECT_UNRESOLVED_EXTERN"
  /** What a loader program cannot replay (pins, arenas, struct_ops, other programs as targets), refused when generating it. */
  | "OBJECT_LOADER_PROGRAM"
  /** A kconfig value (given before load, or in the kernel's config) does not suit its extern, or an extern cannot be resolved. */
  | "OBJECT_BAD_KCONFIG"
  /** The target BTF given for CO-RE cannot be read or has no BTF. */
  | "OBJECT_BAD_TARGET_BTF"
  /** `spec.load()` on a spec opened through `@x/loader/open`, which has no kernel layer. */
  | "OBJECT_NO_LOADER"
  /** A program that attaches to another BPF program (freplace, or fentry/fexit on one) whose target is missing or has no such function. */
  | "OBJECT_BAD_ATTACH_TARGET";

/**
 * What went wrong with an object, and where: `location` names the object and, as far as known,
 * the map, program, variable or section.
 */
export class ObjectError extends XError<ObjectErrorCode> {
  constructor(code: ObjectErrorCode, message: string, location: ErrorLocation = {}, options?: ErrorOptions) {
    super(code, message, location, options);
  }
}

/** Stable codes of {@link LoadError}. */
export type LoadErrorCode = "LOAD_MAP" | "LOAD_PROGRAM" | "LOAD_PIN" | "LOAD_BTF";

/** What the kernel said about a refused map or program (none of it is a location). */
export interface LoadErrorDetails {
  /** The bpf command that failed, e.g. `BPF_PROG_LOAD`. */
  readonly command?: string;
  /** errno name, e.g. `EACCES`. */
  readonly errnoName?: string;
  /** The verifier (or BTF) log, when the kernel wrote one. */
  readonly log?: string;
}

/**
 * A map or program the kernel refused, with the bpf command, errno name and verifier log.
 * `location` names the object and the map or program (and section, when known).
 */
export class LoadError extends XError<LoadErrorCode> {
  /** The bpf command that failed, e.g. `BPF_PROG_LOAD`. */
  readonly command?: string;
  /** errno name, e.g. `EACCES`. */
  readonly errnoName?: string;
  /** The verifier (or BTF) log, when the kernel wrote one. */
  readonly log?: string;

  /** @param details - where (`object`, `map`, `program`, `section`…) and what the kernel said (`command`, `errnoName`, `log`). */
  constructor(code: LoadErrorCode, message: string, details: ErrorLocation & LoadErrorDetails = {}, options?: ErrorOptions) {
    const { command, errnoName, log, ...location } = details;
    super(code, message, location, options);
    this.command = command;
    this.errnoName = errnoName;
    this.log = log;
  }
}

/** Stable codes of {@link AttachError}. */
export type AttachErrorCode =
  /** The kernel refused the attachment, the update or the detach (command and errno attached). */
  | "ATTACH_FAILED"
  /** The attach point does not suit the program (its type), or does not exist (no such interface, cgroup, namespace). */
  | "ATTACH_BAD_POINT"
  /** The link no longer runs the program this handle attached: someone replaced it meanwhile (nothing was changed). */
  | "ATTACH_REPLACED"
  /** A pinned path that should hold a link (or a program) holds something else, or nothing. */
  | "ATTACH_BAD_PIN"
  /** A replacement that cannot keep what it was asked to keep (a map of another shape, a variable gone or resized). */
  | "ATTACH_INCOMPATIBLE";

/** Attaching, updating or detaching a program failed; `location` names the object and program when known. */
export class AttachError extends XError<AttachErrorCode> {
  /** The bpf command that failed, e.g. `BPF_LINK_CREATE`. */
  readonly command?: string;
  /** errno name, e.g. `EBUSY`. */
  readonly errnoName?: string;

  constructor(code: AttachErrorCode, message: string, details: ErrorLocation & { readonly command?: string; readonly errnoName?: string } = {}, options?: ErrorOptions) {
    const { command, errnoName, ...location } = details;
    super(code, message, location, options);
    this.command = command;
    this.errnoName = errnoName;
  }
}

/** Errors about an object as a whole: its maps, programs and variables, before and after load. */

/** Stable codes of {@link ObjectError}. */
export type ObjectErrorCode =
  | "OBJECT_NO_SUCH_VARIABLE"
  | "OBJECT_NO_SUCH_PROGRAM"
  | "OBJECT_NO_SUCH_MAP"
  | "OBJECT_BAD_MAP_DEFINITION"
  | "OBJECT_UNSUPPORTED_PROGRAM"
  | "OBJECT_UNKNOWN_SECTION"
  | "OBJECT_NOT_PATCHABLE"
  | "OBJECT_READ_ONLY"
  | "OBJECT_BAD_VALUE"
  | "OBJECT_LOADED"
  | "OBJECT_NO_BTF"
  | "OBJECT_DISPOSED";

/** What went wrong with an object, and where (map, program, variable, section). */
export class ObjectError extends Error {
  constructor(
    /** Stable code. */
    readonly code: ObjectErrorCode,
    message: string,
    readonly where: { readonly map?: string; readonly program?: string; readonly variable?: string; readonly section?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ObjectError";
  }
}

/** Stable codes of {@link LoadError}. */
export type LoadErrorCode = "LOAD_MAP" | "LOAD_PROGRAM" | "LOAD_PIN";

/** A map or program the kernel refused, with the bpf command, errno name and verifier log. */
export class LoadError extends Error {
  readonly map?: string;
  readonly program?: string;
  readonly section?: string;
  /** The bpf command that failed, e.g. `BPF_PROG_LOAD`. */
  readonly command?: string;
  /** errno name, e.g. `EACCES`. */
  readonly errnoName?: string;
  /** The verifier (or BTF) log, when the kernel wrote one. */
  readonly log?: string;
  constructor(
    /** Stable code. */
    readonly code: LoadErrorCode,
    message: string,
    details: { map?: string; program?: string; section?: string; command?: string; errnoName?: string; log?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "LoadError";
    Object.assign(this, Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined)));
  }
}

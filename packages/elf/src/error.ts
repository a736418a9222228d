/**
 * The base of every error @x throws: a stable `code` for programs, a message for people, and a
 * structured {@link ErrorLocation} saying where (object, section, program, map, variable,
 * instruction, BTF type). It lives here because every package depends on `@x/elf`.
 *
 * @packageDocumentation
 */

/** Where an error is, as far as the thrower knows. Every field is optional. */
export interface ErrorLocation {
  /** Object name (the file name up to its first dot, or the name given at open). */
  readonly object?: string;
  /** ELF section name (or `#index` when it has none). */
  readonly section?: string;
  /** Byte offset: in the file for ELF errors, in the blob for BTF errors, in the buffer for layout errors. */
  readonly offset?: number;
  /** Program (function symbol) name. */
  readonly program?: string;
  /** Map name. */
  readonly map?: string;
  /** Global variable name. */
  readonly variable?: string;
  /** ELF symbol name. */
  readonly symbol?: string;
  /** Instruction index (within the section, or within the linked program once linked). */
  readonly insnIndex?: number;
  /** BTF type id. */
  readonly btfTypeId?: number;
  /** BTF kind of that type (`STRUCT`, `DATASEC`...). */
  readonly btfKind?: string;
}

/** The fields of {@link ErrorLocation}, in the order they are shown. */
export const ERROR_LOCATION_KEYS = [
  "object", "section", "offset", "program", "map", "variable", "symbol", "insnIndex", "btfTypeId", "btfKind",
] as const satisfies readonly (keyof ErrorLocation)[];

/** Keep only the location fields of `where` that are set, in {@link ERROR_LOCATION_KEYS} order. */
function compact(where: ErrorLocation): ErrorLocation {
  const out: Record<string, unknown> = {};
  for (const k of ERROR_LOCATION_KEYS) if (where[k] !== undefined) out[k] = where[k];
  return Object.freeze(out) as ErrorLocation;
}

/** Marks errors of @x, so {@link isXError} also knows errors from another copy of this package. */
const BRAND = Symbol.for("@x/error");

/** What {@link XError.toJSON} returns: the base fields, plus the subclass's details (`command`, `errno`…). */
export interface XErrorJson<Code extends string = string> {
  readonly name: string;
  readonly code: Code;
  readonly message: string;
  readonly location: ErrorLocation;
  readonly [detail: string]: unknown;
}

/** An error of @x: match on {@link XError.code}, not on the message. */
export class XError<Code extends string = string> extends Error {
  /** Stable, machine-readable reason. */
  readonly code: Code;
  /** Where the error is: only the fields that are known (see {@link XError.within}). */
  readonly location: ErrorLocation;

  constructor(code: Code, message: string, location: ErrorLocation = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.location = compact(location);
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * Add what an outer layer knows (the object's name, the program being loaded) without
   * overwriting what the thrower said. Returns the error, for `throw e.within({...})`.
   */
  within(outer: ErrorLocation): this {
    (this as { location: ErrorLocation }).location = compact({ ...compact(outer), ...this.location });
    return this;
  }

  /**
   * The error as plain data, for `JSON.stringify`: name, code, message, location, and the
   * subclass's own details (every own enumerable property, e.g. `command`, `errnoName`, `log`).
   */
  toJSON(): XErrorJson<Code> {
    const details: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === "name" || k === "code" || k === "location" || v === undefined || typeof v === "function") continue;
      details[k] = typeof v === "bigint" ? v.toString() : v;
    }
    return { name: this.name, code: this.code, message: this.message, location: this.location, ...details };
  }
}

/**
 * Whether `e` is an error of @x, from any package. Also true for errors made by another copy of
 * `@x/elf` (two versions installed side by side), where `instanceof XError` is false.
 */
export function isXError(e: unknown): e is XError {
  return e instanceof XError || (e instanceof Error && (e as unknown as Record<symbol, unknown>)[BRAND] === true);
}

/**
 * Errors raised by `@x/btf`.
 *
 * @packageDocumentation
 */
import { type ErrorLocation, XError } from "@x/elf";

/** Stable machine-readable error codes of {@link BtfError}. */
export type BtfErrorCode =
  /** The data ends before a header, record or section does. */
  | "BTF_TRUNCATED"
  /** The magic number is not 0xeB9F in either byte order. */
  | "BTF_BAD_MAGIC"
  /** Unsupported format version. */
  | "BTF_BAD_VERSION"
  /** The header is inconsistent (hdr_len, section offsets or lengths). */
  | "BTF_BAD_HEADER"
  /** A string offset points outside the string table, or a string is not NUL-terminated. */
  | "BTF_BAD_STRING"
  /** A type id is beyond the type table (or is 0 where void is not allowed). */
  | "BTF_BAD_TYPE_ID"
  /** A chain of type references loops back on itself. */
  | "BTF_LOOP"
  /** An unknown kind, or a type of the wrong kind where a specific kind is required. */
  | "BTF_BAD_KIND"
  /** A record is structurally invalid (vlen, linkage, field out of range…). */
  | "BTF_INVALID"
  /** A type has no size (void, function, forward declaration…). */
  | "BTF_NO_SIZE"
  /** A DATASEC's section is missing from the ELF object. */
  | "BTF_MISSING_SECTION"
  /** A DATASEC variable has no matching ELF symbol. */
  | "BTF_MISSING_SYMBOL"
  /** A value does not fit the type it is encoded into. */
  | "BTF_VALUE_RANGE"
  /** A value has the wrong shape for its type (unknown field, wrong JS type, bad text). */
  | "BTF_BAD_VALUE"
  /** The type cannot carry a value (pointer, function, forward declaration…). */
  | "BTF_UNSUPPORTED_VALUE"
  /** A field path names a member the type does not have, or steps into a type that has no members. */
  | "BTF_NO_SUCH_FIELD"
  /** An extern symbol has no usable BTF (none, not extern, in no or an unknown DATASEC, a type kconfig cannot hold). */
  | "BTF_BAD_EXTERN";

/**
 * Every error thrown by this package. `code` is stable and meant for programs;
 * `message` is for humans. Where it applies, `location` has the type id (`btfTypeId`),
 * its kind (`btfKind`, e.g. `"STRUCT"`) and the byte offset in the input (`offset`, when parsing).
 */
export class BtfError extends XError<BtfErrorCode> {
  constructor(code: BtfErrorCode, message: string, location: ErrorLocation = {}, options?: ErrorOptions) {
    super(code, message, location, options);
  }
}

/**
 * The single error type of `@x/elf`. Every malformed input is reported as an {@link ElfError}
 * with a stable {@link ElfErrorCode}; no `RangeError` from a typed array or layout escapes.
 *
 * @packageDocumentation
 */
import { type ErrorLocation, XError } from "./error.js";

/** Stable, machine-readable reasons an object is refused. */
export type ElfErrorCode =
  /** The input ends before a structure it declares (header, section header table, a record). */
  | "ELF_TRUNCATED"
  /** The input does not start with `\x7fELF`. */
  | "ELF_BAD_MAGIC"
  /** `EI_CLASS` is not ELFCLASS64 (32-bit objects are refused: BPF objects are ELF64). */
  | "ELF_NOT_64BIT"
  /** A file header field is invalid (`EI_DATA`, `EI_VERSION`, `e_ehsize`, `e_shentsize`, `e_shstrndx`, ...). */
  | "ELF_BAD_HEADER"
  /** `e_type` is not ET_REL: only relocatable objects (`clang -c` output) are accepted. */
  | "ELF_NOT_RELOCATABLE"
  /** `e_machine` is neither EM_BPF nor EM_NONE. */
  | "ELF_WRONG_MACHINE"
  /** A section header is inconsistent (data outside the file, bad link, value out of range). */
  | "ELF_BAD_SECTION"
  /** A name's offset is outside its string table, or the string is not NUL-terminated. */
  | "ELF_BAD_STRING"
  /** The symbol table is malformed (several SYMTABs, wrong entry size, bad section index...). */
  | "ELF_BAD_SYMTAB"
  /** A REL/RELA section or entry is malformed (bad link/target, symbol index out of range...). */
  | "ELF_BAD_RELOCATION"
  /** A section looked up by index (or name, for the writer) does not exist. */
  | "ELF_SECTION_NOT_FOUND"
  /** A section replacement passed to the writer is refused (wrong length, NOBITS, ambiguous). */
  | "ELF_BAD_REPLACEMENT"
  /** A function looked up in an executable or shared object (for a uprobe) is not there, or is ambiguous. */
  | "ELF_NO_SUCH_FUNCTION"
  /** A last-resort bounds check fired (an inconsistency the specific checks did not name). */
  | "ELF_MALFORMED";

/**
 * A malformed or unsupported ELF object, or a refused request.
 * The message says what was expected, what was found and where (the section and file offset are
 * also in {@link XError.location}); `code` is stable for programs.
 */
export class ElfError extends XError<ElfErrorCode> {
  /**
   * @param location - `section` (name, or `#index`) and `offset` (file offset of the offending
   *   structure) when known; they are appended to the message.
   */
  constructor(code: ElfErrorCode, message: string, location: ErrorLocation = {}, options?: ErrorOptions) {
    super(code, message + describeLocation(location), location, options);
  }
}

function describeLocation(where: ErrorLocation): string {
  const parts: string[] = [];
  if (where.section !== undefined) parts.push(`section ${where.section}`);
  if (where.offset !== undefined) parts.push(`file offset ${hex(where.offset)}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** `0x`-prefixed hexadecimal, for offsets in messages. */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** How a section is named in errors: its name, or `#index` when it has none (yet). */
export function sectionLabel(index: number, name?: string): string {
  return name ? name : `#${index}`;
}

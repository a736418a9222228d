/**
 * The single error type of `@x/reloc`.
 *
 * @packageDocumentation
 */
import { type ErrorLocation, XError } from "@x/elf";

/**
 * Stable machine-readable error codes of {@link RelocationError}.
 *
 * - `RELOC_TRUNCATED`: instruction bytes are not a multiple of 8, or an `ld_imm64` lacks its second slot.
 * - `RELOC_BAD_INSN`: a relocation is not on an `ld_imm64` or `call`, a call relocation lacks `BPF_PSEUDO_CALL`,
 *   or an instruction has the wrong shape for the operation (patching a non-`ld_imm64`, a field out of range).
 * - `RELOC_BAD_OFFSET`: `r_offset` is not a multiple of 8 or lies outside its section.
 * - `RELOC_BAD_SYMBOL`: a bad symbol index, a symbol pointing at a non-existent section, a misaligned call target,
 *   or a `.maps` reference that names no map.
 * - `RELOC_UNINITIALISED_GLOBAL`: a symbol in section 0 (not an extern) or in a special section (≥ `SHN_LORESERVE`).
 * - `RELOC_BAD_SECTION`: a reference to a section that holds neither maps, data nor subprograms.
 * - `RELOC_INSN_OUT_OF_RANGE`: an instruction index past the end of the instructions it refers to.
 * - `RELOC_BAD_PROGRAM`: a function symbol that is misaligned, empty or crosses its section's end.
 * - `RELOC_UNKNOWN_PROGRAM`: {@link linkProgram} was asked for a program that does not exist.
 * - `RELOC_BAD_CALL_TARGET`: a call or function address that does not land on the start of a `.text` subprogram.
 * - `RELOC_BAD_REFERENCE`: a resolver given to a patch function returned no usable fd or index.
 * - `RELOC_CORE_MISMATCH`: a CO-RE relocated instruction does not hold the value the compiler should have put there
 *   (the object's BTF and its instructions disagree).
 */
export type RelocationErrorCode =
  | "RELOC_TRUNCATED"
  | "RELOC_BAD_INSN"
  | "RELOC_BAD_OFFSET"
  | "RELOC_BAD_SYMBOL"
  | "RELOC_UNINITIALISED_GLOBAL"
  | "RELOC_BAD_SECTION"
  | "RELOC_INSN_OUT_OF_RANGE"
  | "RELOC_BAD_PROGRAM"
  | "RELOC_UNKNOWN_PROGRAM"
  | "RELOC_BAD_CALL_TARGET"
  | "RELOC_BAD_REFERENCE"
  | "RELOC_CORE_MISMATCH";

/**
 * Thrown for every malformed input `@x/reloc` detects. Match on {@link RelocationError.code}, not on the message.
 * `location` says where, as far as known: `program` (function symbol), `section` (ELF section),
 * `insnIndex` (within `section` for ELF input, within the instruction array for patching) and `symbol`
 * (the symbol the failing relocation refers to).
 */
export class RelocationError extends XError<RelocationErrorCode> {
  /**
   * @param code - stable error code.
   * @param message - human-readable message (libbpf wording where libbpf has one).
   * @param location - where the problem is.
   */
  constructor(code: RelocationErrorCode, message: string, location: ErrorLocation = {}, options?: ErrorOptions) {
    super(code, message, location, options);
  }
}

/**
 * The error of CO-RE relocation computation.
 *
 * @packageDocumentation
 */
import { type ErrorLocation, XError } from "@x/elf";

/**
 * Stable codes of {@link CoreRelocationError}. Each is a case where libbpf fails the load (a negative
 * error from `bpf_core_calc_relo_insn`), not one where it poisons the instruction.
 *
 * - `CORE_BAD_SPEC`: the relocation record is malformed: an empty or unparsable access string, an index
 *   outside its struct, union, array or enum, a step into a type that has no members or elements, an
 *   unknown relocation kind, a type id outside the object's BTF (libbpf "parsing … failed").
 * - `CORE_UNSUPPORTED`: a relocation libbpf refuses: on an anonymous type (anything but
 *   `TYPE_ID_LOCAL`), a kind that cannot apply to an array element (`FIELD_SIGNED`, `FIELD_LSHIFT_U64`,
 *   `FIELD_RSHIFT_U64` on `a[n]`).
 * - `CORE_AMBIGUOUS`: several candidates match and give different results (libbpf "field offset
 *   ambiguity" / "relocation decision ambiguity").
 * - `CORE_UNSATISFIABLE`: the value cannot be computed for a type that matched: a bitfield no 8-byte
 *   load can read, a type with no size, more than 64 accessors, types nested more than 32 deep.
 */
export type CoreRelocationErrorCode = "CORE_BAD_SPEC" | "CORE_UNSUPPORTED" | "CORE_AMBIGUOUS" | "CORE_UNSATISFIABLE";

/**
 * Thrown when a CO-RE relocation cannot be computed, where libbpf fails the load. `location` has the
 * relocation's local type (`btfTypeId`, `btfKind`) and what the caller gave (`program`, `section`,
 * `insnIndex`).
 */
export class CoreRelocationError extends XError<CoreRelocationErrorCode> {
  constructor(code: CoreRelocationErrorCode, message: string, location: ErrorLocation = {}, options?: ErrorOptions) {
    super(code, message, location, options);
  }
}

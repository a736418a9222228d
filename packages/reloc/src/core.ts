/**
 * Patching an instruction with a computed CO-RE relocation (libbpf `bpf_core_patch_insn`,
 * `bpf_core_poison_insn`). The values come from `@x/btf`'s `CoreContext.relocate`; this package
 * only needs their shape ({@link CoreFix}).
 *
 * @packageDocumentation
 */
import { RelocationError } from "./errors.js";
import { CALL, cloneInstructions, type Instruction, InsnClass, InsnSize, InsnSource, isLdImm64, splitImm64 } from "./insn.js";

/**
 * libbpf's poisoned instruction: `call 0xbad2310` ("bad relo"), an unknown helper. The verifier
 * removes it where it is dead code and rejects the program with `invalid func unknown#195896080`
 * where it is reachable.
 */
export const CORE_POISON_IMM = 195896080;

/** What a CO-RE relocation computed (`@x/btf`'s `CoreRelocationResult` is one): libbpf `struct bpf_core_relo_res`. */
export interface CoreFix {
  /** What the compiler put in the instruction (u64), checked unless `validate` is false. */
  readonly origVal: bigint;
  /** The value to put there (u64). */
  readonly newVal: bigint;
  /** Replace the instruction with {@link CORE_POISON_IMM}'s call. */
  readonly poison: boolean;
  readonly validate: boolean;
  /** A load/store whose size would have to change in a way libbpf refuses: poisoned. */
  readonly failMemszAdjust: boolean;
  /** The field's size in the object (bytes; 0: no size adjustment applies). */
  readonly origSize: number;
  /** The field's size in the kernel: a load/store of `origSize` bytes becomes one of `newSize`. */
  readonly newSize: number;
  /** For messages: the local spec as libbpf prints it. */
  readonly localSpec?: string;
}

/** Where the instruction is, for messages and error locations. */
export interface CorePatchSite {
  readonly program?: string;
  readonly section?: string;
  /** The relocation's index (libbpf `relo #N`). */
  readonly reloIndex?: number;
}

/** What {@link patchCoreInstruction} did, with libbpf's debug (or, for `warning`, warning) wording. */
export interface CorePatchOutcome {
  readonly action: "patched" | "poisoned";
  /** E.g. `patched insn #5 (LDX/ST/STX) off 16 -> 24`, `substituting insn #7 w/ invalid insn`. */
  readonly message: string;
  /** Set when a load/store was poisoned because its size cannot follow the field's (libbpf warns). */
  readonly warning?: string;
}

const SIZE_BYTES: Record<number, number> = { [InsnSize.DW]: 8, [InsnSize.W]: 4, [InsnSize.H]: 2, [InsnSize.B]: 1 };
const BYTES_SIZE: Record<number, number> = { 8: InsnSize.DW, 4: InsnSize.W, 2: InsnSize.H, 1: InsnSize.B };
const SHRT_MAX = 0x7fffn;

/** `n` as C's `%u` prints an int. */
const asU32 = (n: number): string => String(n >>> 0);
/** A signed field compared with a u64 in C: sign-extended to 64 bits. */
const asU64 = (n: number): bigint => BigInt.asUintN(64, BigInt(n));

/**
 * Patch the instruction at `index` of `insns`, in place, with a computed CO-RE relocation (libbpf
 * `bpf_core_patch_insn`):
 *
 * - ALU/ALU64 with an immediate operand (`r1 = 8`, `r1 += 8`): `imm` = the new value (its low 32 bits);
 * - LDX/ST/STX (`r1 = *(u32 *)(r2 + 8)`, `*(u64 *)(r1 + 8) = r2`, `*(u32 *)(r1 + 8) = 0`): `off` = the
 *   new value (at most 32767), and when the field's size changed (`origSize` → `newSize`) the access
 *   size too: the instruction must access `origSize` bytes and `newSize` must be 1, 2, 4 or 8; a size
 *   change libbpf refuses (`failMemszAdjust`: not between pointers nor between unsigned integers) poisons it;
 * - `ld_imm64` (`r1 = 0x... ll`, with `src_reg`, `off` and the second slot's other fields 0): the 64-bit immediate.
 *
 * Unless `fix.validate` is false, the instruction must hold `fix.origVal` first (sign-extended as
 * libbpf compares). A poisoned relocation replaces the instruction (both slots of an `ld_imm64`) with
 * `call 0xbad2310` ({@link CORE_POISON_IMM}).
 *
 * @returns what was done, in libbpf's words.
 * @throws {@link RelocationError} `RELOC_INSN_OUT_OF_RANGE`, `RELOC_TRUNCATED` (an `ld_imm64` in the last
 *   slot), `RELOC_BAD_INSN` (another class, an ALU with a register operand, an `ld_imm64` of another form,
 *   an access of another size than the field's, an offset over 32767, a new size that is no access size),
 *   `RELOC_CORE_MISMATCH` (the instruction does not hold `origVal`).
 */
export function patchCoreInstruction(insns: Instruction[], index: number, fix: CoreFix, site: CorePatchSite = {}): CorePatchOutcome {
  const where = { program: site.program, section: site.section, insnIndex: index };
  const prefix = `${site.program !== undefined ? `prog '${site.program}': ` : ""}relo #${site.reloIndex ?? "?"}: `;
  const spec = fix.localSpec ? ` (${fix.localSpec})` : "";
  const insn = insns[index];
  if (insn === undefined) {
    throw new RelocationError("RELOC_INSN_OUT_OF_RANGE", `${prefix}insn #${index} is outside the ${insns.length} instructions`, where);
  }
  const ldImm64 = isLdImm64(insn);
  if (ldImm64 && index + 1 >= insns.length) {
    throw new RelocationError("RELOC_TRUNCATED", `${prefix}insn #${index} (LDIMM64) is truncated`, where);
  }
  const orig = fix.origVal;
  const next = fix.newVal;
  const badInsn = () => new RelocationError(
    "RELOC_BAD_INSN",
    `${prefix}trying to relocate unrecognized insn #${index}, code:0x${insn.code.toString(16)}, src:0x${insn.srcReg.toString(16)}, dst:0x${insn.dstReg.toString(16)}, off:0x${(insn.off & 0xffff).toString(16)}, imm:0x${(insn.imm >>> 0).toString(16)}${spec}`,
    where,
  );
  const mismatch = (what: string, got: string) => new RelocationError(
    "RELOC_CORE_MISMATCH", `${prefix}unexpected insn #${index} (${what}) value: got ${got}, exp ${orig} -> ${next}${spec}`, where,
  );

  switch (insn.code & 0x07) {
    case InsnClass.ALU: case InsnClass.ALU64: {
      if ((insn.code & InsnSource.X) !== InsnSource.K) throw badInsn();
      if (fix.poison) return poison(insns, index, prefix);
      if (fix.validate && asU64(insn.imm) !== orig) throw mismatch("ALU/ALU64", asU32(insn.imm));
      const was = asU64(insn.imm);
      insn.imm = Number(BigInt.asIntN(32, next));
      return { action: "patched", message: `${prefix}patched insn #${index} (ALU/ALU64) imm ${was} -> ${next}` };
    }
    case InsnClass.LDX: case InsnClass.ST: case InsnClass.STX: {
      if (fix.poison) return poison(insns, index, prefix);
      if (fix.validate && asU64(insn.off) !== orig) throw mismatch("LDX/ST/STX", asU32(insn.off));
      if (next > SHRT_MAX) throw new RelocationError("RELOC_BAD_INSN", `${prefix}insn #${index} (LDX/ST/STX) value too big: ${next}${spec}`, where);
      if (fix.failMemszAdjust) {
        const warning = `${prefix}insn #${index} (LDX/ST/STX) accesses field incorrectly. Make sure you are accessing pointers, unsigned integers, or fields of matching type and size.`;
        return { ...poison(insns, index, prefix), warning };
      }
      const was = asU64(insn.off);
      if (fix.newSize !== fix.origSize) {
        const bytes = SIZE_BYTES[insn.code & 0x18]!;
        if (bytes !== fix.origSize) {
          throw new RelocationError("RELOC_BAD_INSN", `${prefix}insn #${index} (LDX/ST/STX) unexpected mem size: got ${bytes}, exp ${fix.origSize}${spec}`, where);
        }
        const size = BYTES_SIZE[fix.newSize];
        if (size === undefined) throw new RelocationError("RELOC_BAD_INSN", `${prefix}insn #${index} (LDX/ST/STX) invalid new mem size: ${fix.newSize}${spec}`, where);
        insn.off = Number(next);
        insn.code = (insn.code & 0xe0) | size | (insn.code & 0x07);
        return { action: "patched", message: `${prefix}patched insn #${index} (LDX/ST/STX) off ${was} -> ${next}, mem_sz ${fix.origSize} -> ${fix.newSize}` };
      }
      insn.off = Number(next);
      return { action: "patched", message: `${prefix}patched insn #${index} (LDX/ST/STX) off ${was} -> ${next}` };
    }
    case InsnClass.LD: {
      const hi = insns[index + 1];
      if (!ldImm64 || hi === undefined || insn.srcReg !== 0 || insn.off !== 0 || hi.code !== 0 || hi.dstReg !== 0 || hi.srcReg !== 0 || hi.off !== 0) {
        throw new RelocationError("RELOC_BAD_INSN", `${prefix}insn #${index} (LDIMM64) has unexpected form${spec}`, where);
      }
      if (fix.poison) return poison(insns, index, prefix);
      const imm = (BigInt(hi.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
      if (fix.validate && imm !== orig) throw mismatch("LDIMM64", String(imm));
      const { lo, hi: high } = splitImm64(next);
      insn.imm = lo;
      hi.imm = high;
      return { action: "patched", message: `${prefix}patched insn #${index} (LDIMM64) imm64 ${imm} -> ${BigInt.asUintN(64, next)}` };
    }
    default:
      throw badInsn();
  }
}

/** libbpf `bpf_core_poison_insn`: `call 0xbad2310` in the instruction, and in both slots of an `ld_imm64`. */
function poison(insns: Instruction[], index: number, prefix: string): CorePatchOutcome {
  const n = isLdImm64(insns[index]) ? 2 : 1;
  for (let i = index; i < index + n; i++) insns[i] = { code: CALL, dstReg: 0, srcReg: 0, off: 0, imm: CORE_POISON_IMM };
  const slots = n === 2 ? `insns #${index} and #${index + 1}` : `insn #${index}`;
  return { action: "poisoned", message: `${prefix}substituting ${slots} w/ invalid insn` };
}

/** One relocation for {@link patchCoreInstructions}. */
export interface CoreInstructionFix extends CorePatchSite {
  /** The instruction's index in the array being patched. */
  readonly insnIndex: number;
  readonly fix: CoreFix;
}

/**
 * {@link patchCoreInstruction} for several relocations, on a copy: `insns` is not modified.
 * `onPatch` sees what each one did (libbpf's debug lines, and the warning of a poisoned load/store).
 *
 * @returns the patched copy.
 */
export function patchCoreInstructions(
  insns: readonly Instruction[],
  fixes: readonly CoreInstructionFix[],
  onPatch?: (outcome: CorePatchOutcome, fix: CoreInstructionFix) => void,
): Instruction[] {
  const out = cloneInstructions(insns);
  for (const f of fixes) {
    const outcome = patchCoreInstruction(out, f.insnIndex, f.fix, f);
    onPatch?.(outcome, f);
  }
  return out;
}

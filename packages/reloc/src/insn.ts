/**
 * The `struct bpf_insn` codec and opcode constants.
 *
 * An instruction array has one {@link Instruction} per 8-byte slot, so the second half of a
 * 16-byte `ld_imm64` is an entry of its own (opcode 0) and an instruction's index is its byte
 * offset divided by 8, exactly as libbpf and the kernel count instructions.
 *
 * @packageDocumentation
 */
import { struct } from "@x/elf/layout";
import { RelocationError } from "./errors.js";

/** One 8-byte BPF instruction slot, with the register nibbles split out. */
export interface Instruction {
  /** Opcode byte (`class | size/op | mode/source`). */
  code: number;
  /** Destination register, 0..15. */
  dstReg: number;
  /** Source register (or pseudo value for `ld_imm64`/`call`), 0..15. */
  srcReg: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate. */
  imm: number;
}

/** Size of one instruction slot in bytes. */
export const INSN_SIZE = 8;

/**
 * `struct bpf_insn`. `regs` packs `dst_reg` (low nibble) and `src_reg` (high nibble) on a
 * little-endian object; big-endian objects swap the nibbles (`dst_reg` high).
 */
export const BpfInsn = struct("bpf_insn", [
  ["code", "u8"],
  ["regs", "u8"],
  ["off", "i16"],
  ["imm", "i32"],
]);

/** Instruction classes (`BPF_CLASS(code)`, low 3 bits). */
export const InsnClass = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07 } as const;
/** Load/store sizes (`BPF_SIZE(code)`). */
export const InsnSize = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;
/** Load/store modes (`BPF_MODE(code)`). */
export const InsnMode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, MEMSX: 0x80, ATOMIC: 0xc0 } as const;
/** Operand source (`BPF_SRC(code)`): immediate (`K`) or register (`X`). */
export const InsnSource = { K: 0x00, X: 0x08 } as const;
/** ALU operations (`BPF_OP(code)` for ALU/ALU64). */
export const AluOp = {
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70,
  NEG: 0x80, MOD: 0x90, XOR: 0xa0, MOV: 0xb0, ARSH: 0xc0, END: 0xd0,
} as const;
/** Jump operations (`BPF_OP(code)` for JMP/JMP32). */
export const JmpOp = {
  JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40, JNE: 0x50, JSGT: 0x60, JSGE: 0x70,
  CALL: 0x80, EXIT: 0x90, JLT: 0xa0, JLE: 0xb0, JSLT: 0xc0, JSLE: 0xd0,
} as const;

/** `BPF_LD | BPF_IMM | BPF_DW`: the 16-byte 64-bit immediate load. */
export const LD_IMM64 = 0x18;
/** `BPF_JMP | BPF_CALL`. */
export const CALL = 0x85;
/** `BPF_JMP | BPF_EXIT`. */
export const EXIT = 0x95;

/** `src_reg` values of an `ld_imm64` (`BPF_PSEUDO_*`). */
export const PseudoLd = {
  /** `imm` is a map fd. */
  MAP_FD: 1,
  /** `imm` is a map fd, second slot's `imm` an offset into the value. */
  MAP_VALUE: 2,
  /** `imm` is a BTF type id (typed ksym), second slot's `imm` a module BTF fd. */
  BTF_ID: 3,
  /** `imm` is a relative instruction offset to a subprogram (function pointer). */
  FUNC: 4,
  /** `imm` is an index into `fd_array` (loader programs). */
  MAP_IDX: 5,
  /** `imm` is an index into `fd_array`, second slot's `imm` an offset into the value. */
  MAP_IDX_VALUE: 6,
} as const;

/** `src_reg` values of a `call`. */
export const PseudoCall = {
  /** `imm` is a helper id. */
  HELPER: 0,
  /** `imm` is a relative instruction offset to a BPF subprogram. */
  CALL: 1,
  /** `imm` is a kfunc BTF id, `off` an `fd_array` index (0: vmlinux). */
  KFUNC_CALL: 2,
} as const;

/** Whether `insn` is the first slot of an `ld_imm64`. */
export function isLdImm64(insn: Instruction | undefined): boolean {
  return insn !== undefined && insn.code === LD_IMM64;
}

/** Whether `insn` is a `call` (helper, subprogram or kfunc). */
export function isCall(insn: Instruction | undefined): boolean {
  return insn !== undefined && insn.code === CALL;
}

/** Whether `insn` is a call of a BPF subprogram (libbpf `insn_is_subprog_call`). */
export function isSubprogCall(insn: Instruction | undefined): boolean {
  return isCall(insn) && insn!.srcReg === PseudoCall.CALL && insn!.dstReg === 0 && insn!.off === 0;
}

/** Whether `insn` is an `ld_imm64` of a function address (libbpf `insn_is_pseudo_func`). */
export function isPseudoFunc(insn: Instruction | undefined): boolean {
  return isLdImm64(insn) && insn!.srcReg === PseudoLd.FUNC;
}

/**
 * The 64-bit immediate of the `ld_imm64` at `index` (low half from the first slot's `imm`,
 * high half from the second's), as an unsigned bigint.
 *
 * @throws {@link RelocationError} `RELOC_BAD_INSN` if `insns[index]` is not an `ld_imm64`,
 *   `RELOC_TRUNCATED` if it has no second slot.
 */
export function ldImm64Value(insns: readonly Instruction[], index: number): bigint {
  const lo = insns[index];
  if (!isLdImm64(lo)) {
    throw new RelocationError("RELOC_BAD_INSN", `insns[${index}] is not an ld_imm64 (code ${hexCode(lo?.code)})`, { insnIndex: index });
  }
  const hi = insns[index + 1];
  if (hi === undefined) {
    throw new RelocationError("RELOC_TRUNCATED", `ld_imm64 at insns[${index}] has no second slot`, { insnIndex: index });
  }
  return (BigInt(hi.imm >>> 0) << 32n) | BigInt(lo!.imm >>> 0);
}

/**
 * Split a 64-bit value into the two `imm` fields of an `ld_imm64` (signed 32-bit each).
 * The value is taken modulo 2^64.
 */
export function splitImm64(value: bigint): { lo: number; hi: number } {
  const v = BigInt.asUintN(64, value);
  return { lo: Number(BigInt.asIntN(32, v)), hi: Number(BigInt.asIntN(32, v >> 32n)) };
}

function hexCode(code: number | undefined): string {
  return code === undefined ? "none" : `0x${code.toString(16)}`;
}

/**
 * Decode raw instruction bytes: one {@link Instruction} per 8-byte slot.
 *
 * @param bytes - the bytes of an executable section (or a part of it).
 * @param littleEndian - the object's byte order (decides the register nibble order too).
 * @throws {@link RelocationError} `RELOC_TRUNCATED` if the length is not a multiple of 8 or the last
 *   slot opens an `ld_imm64`.
 */
export function decodeInstructions(bytes: Uint8Array, littleEndian: boolean): Instruction[] {
  if (bytes.byteLength % INSN_SIZE !== 0) {
    throw new RelocationError("RELOC_TRUNCATED", `instruction bytes are ${bytes.byteLength} long, not a multiple of ${INSN_SIZE}`);
  }
  const count = bytes.byteLength / INSN_SIZE;
  const out: Instruction[] = new Array<Instruction>(count);
  for (let i = 0; i < count; i++) {
    const raw = BpfInsn.read(bytes, i * INSN_SIZE, littleEndian);
    const lowNibble = raw.regs & 0x0f;
    const highNibble = raw.regs >> 4;
    out[i] = {
      code: raw.code,
      dstReg: littleEndian ? lowNibble : highNibble,
      srcReg: littleEndian ? highNibble : lowNibble,
      off: raw.off,
      imm: raw.imm,
    };
  }
  for (let i = 0; i < count; i++) {
    if (out[i]!.code === LD_IMM64) {
      if (i + 1 >= count) {
        throw new RelocationError("RELOC_TRUNCATED", `ld_imm64 at insns[${i}] is the last slot: its second half is missing`, { insnIndex: i });
      }
      i++; // skip the second slot: its code byte is not an opcode
    }
  }
  return out;
}

function checkField(name: keyof Instruction, value: number, min: number, max: number, index: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RelocationError("RELOC_BAD_INSN", `insns[${index}].${name} = ${value} is outside ${min}..${max}`, { insnIndex: index });
  }
}

/**
 * Encode instructions to bytes (8 per instruction), the inverse of {@link decodeInstructions}.
 *
 * @throws {@link RelocationError} `RELOC_BAD_INSN` if a field is out of range (`code` 0..255,
 *   registers 0..15, `off` a signed 16-bit and `imm` a signed 32-bit integer; `imm` may also be
 *   given as an unsigned 32-bit value).
 */
export function encodeInstructions(insns: readonly Instruction[], littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(insns.length * INSN_SIZE);
  insns.forEach((insn, i) => {
    checkField("code", insn.code, 0, 0xff, i);
    checkField("dstReg", insn.dstReg, 0, 15, i);
    checkField("srcReg", insn.srcReg, 0, 15, i);
    checkField("off", insn.off, -0x8000, 0x7fff, i);
    checkField("imm", insn.imm, -0x80000000, 0xffffffff, i);
    const regs = littleEndian ? (insn.srcReg << 4) | insn.dstReg : (insn.dstReg << 4) | insn.srcReg;
    BpfInsn.write(out, i * INSN_SIZE, { code: insn.code, regs, off: insn.off, imm: insn.imm | 0 }, littleEndian);
  });
  return out;
}

/** A shallow copy of an instruction array (each instruction copied), for non-mutating transforms. */
export function cloneInstructions(insns: readonly Instruction[]): Instruction[] {
  return insns.map((i) => ({ code: i.code, dstReg: i.dstReg, srcReg: i.srcReg, off: i.off, imm: i.imm }));
}

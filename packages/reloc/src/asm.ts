/**
 * A handful of instruction constructors, enough for feature probes, tests and examples
 * (`asm.mov64Imm(0, 42)` is `r0 = 42`). Not an assembler: real programs come from clang and the
 * loader. Each constructor returns fresh {@link Instruction}s (one per 8-byte slot, so
 * {@link asm.ldImm64} returns two); encode them with {@link encodeInstructions}.
 *
 * @packageDocumentation
 */
import { AluOp, CALL, EXIT, InsnClass, InsnMode, InsnSize, InsnSource, JmpOp, LD_IMM64, PseudoCall, type Instruction } from "./insn.js";

const insn = (code: number, dstReg: number, srcReg: number, off: number, imm: number): Instruction => ({ code, dstReg, srcReg, off, imm });

/** Instruction constructors (the kernel's `BPF_MOV64_IMM`, `BPF_EXIT_INSN`, `BPF_LD_IMM64_RAW`… macros). */
export const asm = {
  /** `dst = imm` (64-bit, `BPF_MOV64_IMM`). */
  mov64Imm: (dst: number, imm: number): Instruction => insn(InsnClass.ALU64 | AluOp.MOV | InsnSource.K, dst, 0, 0, imm),
  /** `dst = src` (64-bit, `BPF_MOV64_REG`). */
  mov64Reg: (dst: number, src: number): Instruction => insn(InsnClass.ALU64 | AluOp.MOV | InsnSource.X, dst, src, 0, 0),
  /** `dst op= imm` (64-bit, `BPF_ALU64_IMM`), e.g. `asm.alu64Imm(AluOp.ADD, 1, -8)`. */
  alu64Imm: (op: number, dst: number, imm: number): Instruction => insn(InsnClass.ALU64 | op | InsnSource.K, dst, 0, 0, imm),
  /** `exit` (`BPF_EXIT_INSN`). */
  exit: (): Instruction => insn(EXIT, 0, 0, 0, 0),
  /** `call helper#id` (`BPF_EMIT_CALL`). */
  call: (helperId: number): Instruction => insn(CALL, 0, PseudoCall.HELPER, 0, helperId),
  /** `call kfunc` by BTF id; `fdArrayIndex` 0 means vmlinux BTF, otherwise a module BTF fd's slot in `fd_array`. */
  kfuncCall: (btfId: number, fdArrayIndex = 0): Instruction => insn(CALL, 0, PseudoCall.KFUNC_CALL, fdArrayIndex, btfId),
  /**
   * `dst = imm64` with a pseudo source (`PseudoLd.MAP_VALUE`, `PseudoLd.MAP_IDX`…, or 0 for a plain
   * constant): two slots, `imm` in the first, `imm2` in the second (`BPF_LD_IMM64_RAW`).
   */
  ldImm64: (dst: number, pseudo: number, imm: number, imm2 = 0): [Instruction, Instruction] => [
    insn(LD_IMM64, dst, pseudo, 0, imm),
    insn(0, 0, 0, 0, imm2),
  ],
  /** `*(size *)(dst + off) = imm` (`BPF_ST_MEM`); `size` is a key of {@link InsnSize}: `"W"` (u32) or `"DW"` (u64)... */
  stMem: (size: keyof typeof InsnSize, dst: number, off: number, imm: number): Instruction =>
    insn(InsnClass.ST | InsnMode.MEM | InsnSize[size], dst, 0, off, imm),
  /** `*(size *)(dst + off) = src` (`BPF_STX_MEM`). */
  stxMem: (size: keyof typeof InsnSize, dst: number, src: number, off: number): Instruction =>
    insn(InsnClass.STX | InsnMode.MEM | InsnSize[size], dst, src, off, 0),
  /** `dst = *(size *)(src + off)` (`BPF_LDX_MEM`). */
  ldxMem: (size: keyof typeof InsnSize, dst: number, src: number, off: number): Instruction =>
    insn(InsnClass.LDX | InsnMode.MEM | InsnSize[size], dst, src, off, 0),
  /** `if dst op imm goto +off` (`BPF_JMP_IMM`), e.g. `asm.jmpImm(JmpOp.JSLT, 0, 0, 3)`. */
  jmpImm: (op: number, dst: number, imm: number, off: number): Instruction => insn(InsnClass.JMP | op | InsnSource.K, dst, 0, off, imm),
  /** `goto +off` (`BPF_JMP_A`). */
  ja: (off: number): Instruction => insn(InsnClass.JMP | JmpOp.JA, 0, 0, off, 0),
};

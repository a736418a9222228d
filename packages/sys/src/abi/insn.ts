/**
 * `struct bpf_insn` and a handful of instruction encoders, enough for feature probes and
 * tests. Not an assembler: real programs come from the loader.
 *
 * @packageDocumentation
 */
import { struct } from "@x/elf/layout";

/** `struct bpf_insn`: `code`, `regs` (dst in the low nibble, src in the high one on little-endian), `off`, `imm`. */
export const InsnLayout = struct("bpf_insn", [
  ["code", "u8"],
  ["regs", "u8"],
  ["off", "i16"],
  ["imm", "i32"],
]);

/** Size of one instruction in bytes. */
export const INSN_SIZE = 8;

/** One decoded instruction with the register nibbles split out. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// Opcode parts (uapi bpf_common.h / bpf.h).
const BPF_LD = 0x00, BPF_ST = 0x02, BPF_ALU64 = 0x07, BPF_JMP = 0x05;
const BPF_IMM = 0x00, BPF_MEM = 0x60, BPF_DW = 0x18, BPF_W = 0x00;
const BPF_MOV = 0xb0, BPF_K = 0x00, BPF_EXIT = 0x90, BPF_CALL = 0x80;

/** Encode instructions as little-endian bytes (BPF on x86_64/aarch64 hosts). */
export function encodeInsns(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * INSN_SIZE);
  insns.forEach((i, n) => {
    InsnLayout.write(out, n * INSN_SIZE, { code: i.code, regs: (i.dst & 0xf) | ((i.src & 0xf) << 4), off: i.off, imm: i.imm | 0 }, true);
  });
  return out;
}

/** Decode little-endian instruction bytes. */
export function decodeInsns(bytes: Uint8Array): Insn[] {
  const out: Insn[] = [];
  for (let at = 0; at + INSN_SIZE <= bytes.byteLength; at += INSN_SIZE) {
    const r = InsnLayout.read(bytes, at, true);
    out.push({ code: r.code, dst: r.regs & 0xf, src: r.regs >> 4, off: r.off, imm: r.imm });
  }
  return out;
}

/** Tiny instruction constructors (`asm.mov64Imm(0, 42)` is `r0 = 42`). */
export const asm = {
  /** `dst = imm` (64-bit). */
  mov64Imm: (dst: number, imm: number): Insn => ({ code: BPF_ALU64 | BPF_MOV | BPF_K, dst, src: 0, off: 0, imm }),
  /** `exit`. */
  exit: (): Insn => ({ code: BPF_JMP | BPF_EXIT, dst: 0, src: 0, off: 0, imm: 0 }),
  /** `call helper#id`. */
  call: (id: number): Insn => ({ code: BPF_JMP | BPF_CALL, dst: 0, src: 0, off: 0, imm: id }),
  /** `ld_imm64 dst, imm` with a pseudo source (e.g. `BPF_PSEUDO_MAP_VALUE`): two instruction slots. */
  ldImm64: (dst: number, src: number, imm: number, imm2: number): Insn[] => [
    { code: BPF_LD | BPF_DW | BPF_IMM, dst, src, off: 0, imm },
    { code: 0, dst: 0, src: 0, off: 0, imm: imm2 },
  ],
  /** `*(u64 *)(dst + off) = imm`. */
  stMemDw: (dst: number, off: number, imm: number): Insn => ({ code: BPF_ST | BPF_MEM | BPF_DW, dst, src: 0, off, imm }),
  /** `*(u32 *)(dst + off) = imm`. */
  stMemW: (dst: number, off: number, imm: number): Insn => ({ code: BPF_ST | BPF_MEM | BPF_W, dst, src: 0, off, imm }),
};

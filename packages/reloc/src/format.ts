/**
 * A small BPF disassembler for error messages and debugging output. It follows the
 * kernel/llvm pseudo-C syntax (`r1 = *(u32 *)(r2 + 4)`, `if r0 == 0 goto +2`, `call 1`), prints
 * numbers in decimal except 64-bit constants, and never throws.
 *
 * @packageDocumentation
 */
import {
  AluOp, CALL, EXIT, InsnClass, InsnMode, InsnSize, InsnSource, JmpOp, LD_IMM64, PseudoCall, PseudoLd,
  type Instruction,
} from "./insn.js";
import type { ProgramRelocation } from "./types.js";

/** Extra context for {@link formatInstruction}. */
export interface FormatContext {
  /** The next slot, to print the full 64-bit immediate of an `ld_imm64`. */
  readonly next?: Instruction;
  /** The instruction's relocation, to print symbolic operands (`map_value(.rodata+8)`, `map(counters)`). */
  readonly relocation?: ProgramRelocation;
}

const ALU_SYMBOL: Record<number, string> = {
  [AluOp.ADD]: "+=", [AluOp.SUB]: "-=", [AluOp.MUL]: "*=", [AluOp.DIV]: "/=", [AluOp.OR]: "|=",
  [AluOp.AND]: "&=", [AluOp.LSH]: "<<=", [AluOp.RSH]: ">>=", [AluOp.MOD]: "%=", [AluOp.XOR]: "^=",
  [AluOp.MOV]: "=", [AluOp.ARSH]: "s>>=",
};

const JMP_SYMBOL: Record<number, string> = {
  [JmpOp.JEQ]: "==", [JmpOp.JGT]: ">", [JmpOp.JGE]: ">=", [JmpOp.JSET]: "&", [JmpOp.JNE]: "!=",
  [JmpOp.JSGT]: "s>", [JmpOp.JSGE]: "s>=", [JmpOp.JLT]: "<", [JmpOp.JLE]: "<=", [JmpOp.JSLT]: "s<",
  [JmpOp.JSLE]: "s<=",
};

const SIZE_NAME: Record<number, string> = { [InsnSize.W]: "u32", [InsnSize.H]: "u16", [InsnSize.B]: "u8", [InsnSize.DW]: "u64" };

const ATOMIC_OP: Record<number, string> = { [AluOp.ADD]: "add", [AluOp.OR]: "or", [AluOp.AND]: "and", [AluOp.XOR]: "xor" };
const ATOMIC_FETCH = 0x01;
const ATOMIC_XCHG = 0xe0 | ATOMIC_FETCH;
const ATOMIC_CMPXCHG = 0xf0 | ATOMIC_FETCH;

function rel(n: number): string {
  return n >= 0 ? `+${n}` : `${n}`;
}

function memRef(reg: number, off: number): string {
  return off >= 0 ? `(r${reg} + ${off})` : `(r${reg} - ${-off})`;
}

function ldImm64(insn: Instruction, ctx: FormatContext): string {
  const dst = `r${insn.dstReg}`;
  const r = ctx.relocation;
  const hiImm = ctx.next?.imm;
  if (r) {
    switch (r.kind) {
      case "map": return `${dst} = map(${r.mapName ?? r.symbol}) ll`;
      case "data": return `${dst} = map_value(${r.targetSection ?? r.symbol}+${r.offset ?? 0}) ll`;
      case "subprog-addr": return `${dst} = func(${r.symbol}) ll`;
      case "extern-ld64": return `${dst} = extern(${r.externName ?? r.symbol}) ll`;
      default: break;
    }
  }
  switch (insn.srcReg) {
    case PseudoLd.MAP_FD: return `${dst} = map_fd(${insn.imm}) ll`;
    case PseudoLd.MAP_VALUE: return `${dst} = map_value(fd ${insn.imm}+${hiImm ?? "?"}) ll`;
    case PseudoLd.BTF_ID: return `${dst} = btf_id(${insn.imm}) ll`;
    case PseudoLd.FUNC: return `${dst} = func(pc${rel(insn.imm)}) ll`;
    case PseudoLd.MAP_IDX: return `${dst} = map_idx(${insn.imm}) ll`;
    case PseudoLd.MAP_IDX_VALUE: return `${dst} = map_idx_value(${insn.imm}+${hiImm ?? "?"}) ll`;
    default: {
      if (hiImm === undefined) return `${dst} = 0x${(insn.imm >>> 0).toString(16)} ll (second slot missing)`;
      const v = (BigInt(hiImm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
      return `${dst} = 0x${v.toString(16)} ll`;
    }
  }
}

function call(insn: Instruction, ctx: FormatContext): string {
  const r = ctx.relocation;
  switch (insn.srcReg) {
    case PseudoCall.CALL: return r ? `call pc${rel(insn.imm)} <${r.symbol}>` : `call pc${rel(insn.imm)}`;
    case PseudoCall.KFUNC_CALL: return r?.externName ? `call kfunc ${r.externName}` : `call kfunc ${insn.imm}`;
    default: return r?.externName ? `call ${r.externName}` : `call ${insn.imm}`;
  }
}

function alu(insn: Instruction, is64: boolean): string {
  const p = is64 ? "r" : "w";
  const dst = `${p}${insn.dstReg}`;
  const op = insn.code & 0xf0;
  const useReg = (insn.code & 0x08) === InsnSource.X;
  const src = useReg ? `${p}${insn.srcReg}` : `${insn.imm}`;
  if (op === AluOp.NEG) return `${dst} = -${dst}`;
  if (op === AluOp.END) {
    const kind = is64 ? "bswap" : useReg ? "be" : "le";
    return `${dst} = ${kind}${insn.imm} ${dst}`;
  }
  if (op === AluOp.MOV && useReg && insn.off !== 0) return `${dst} = (s${insn.off})${p}${insn.srcReg}`;
  const sym = ALU_SYMBOL[op];
  if (sym === undefined) return `invalid alu opcode 0x${insn.code.toString(16)}`;
  const signed = (op === AluOp.DIV || op === AluOp.MOD) && insn.off === 1 ? "s" : "";
  return `${dst} ${signed}${sym} ${src}`;
}

function jmp(insn: Instruction, is64: boolean, ctx: FormatContext): string {
  const op = insn.code & 0xf0;
  if (insn.code === CALL) return call(insn, ctx);
  if (insn.code === EXIT) return "exit";
  if (op === JmpOp.JA) return is64 ? `goto ${rel(insn.off)}` : `gotol ${rel(insn.imm)}`;
  const sym = JMP_SYMBOL[op];
  if (sym === undefined) return `invalid jmp opcode 0x${insn.code.toString(16)}`;
  const p = is64 ? "r" : "w";
  const src = (insn.code & 0x08) === InsnSource.X ? `${p}${insn.srcReg}` : `${insn.imm}`;
  return `if ${p}${insn.dstReg} ${sym} ${src} goto ${rel(insn.off)}`;
}

function atomic(insn: Instruction, size: string): string {
  const ref = `*(${size} *)${memRef(insn.dstReg, insn.off)}`;
  const src = `r${insn.srcReg}`;
  if (insn.imm === ATOMIC_XCHG) return `${src} = xchg(${ref.slice(1)}, ${src})`;
  if (insn.imm === ATOMIC_CMPXCHG) return `r0 = cmpxchg(${ref.slice(1)}, r0, ${src})`;
  const name = ATOMIC_OP[insn.imm & ~ATOMIC_FETCH];
  if (name === undefined) return `invalid atomic op 0x${(insn.imm >>> 0).toString(16)}`;
  if (insn.imm & ATOMIC_FETCH) return `${src} = atomic_fetch_${name}(${ref.slice(1)}, ${src})`;
  const sym = ALU_SYMBOL[insn.imm]!;
  return `lock ${ref} ${sym} ${src}`;
}

/**
 * Render one instruction in pseudo-C, e.g. `r1 = map_value(.rodata+8) ll`, `call 1`, `call pc+5`,
 * `if r0 == 0 goto +2`, `exit`. Give `ctx.next` to print a plain `ld_imm64`'s full value and
 * `ctx.relocation` to print symbolic operands.
 */
export function formatInstruction(insn: Instruction, ctx: FormatContext = {}): string {
  const cls = insn.code & 0x07;
  const size = SIZE_NAME[insn.code & 0x18]!;
  const mode = insn.code & 0xe0;
  switch (cls) {
    case InsnClass.LD:
      if (insn.code === LD_IMM64) return ldImm64(insn, ctx);
      if (mode === InsnMode.ABS) return `r0 = *(${size} *)skb[${insn.imm}]`;
      if (mode === InsnMode.IND) return `r0 = *(${size} *)skb[r${insn.srcReg} + ${insn.imm}]`;
      break;
    case InsnClass.LDX:
      if (mode === InsnMode.MEM) return `r${insn.dstReg} = *(${size} *)${memRef(insn.srcReg, insn.off)}`;
      if (mode === InsnMode.MEMSX) return `r${insn.dstReg} = *(${size.replace("u", "s")} *)${memRef(insn.srcReg, insn.off)}`;
      break;
    case InsnClass.ST:
      if (mode === InsnMode.MEM) return `*(${size} *)${memRef(insn.dstReg, insn.off)} = ${insn.imm}`;
      break;
    case InsnClass.STX:
      if (mode === InsnMode.MEM) return `*(${size} *)${memRef(insn.dstReg, insn.off)} = r${insn.srcReg}`;
      if (mode === InsnMode.ATOMIC) return atomic(insn, size);
      break;
    case InsnClass.ALU: return alu(insn, false);
    case InsnClass.ALU64: return alu(insn, true);
    case InsnClass.JMP: return jmp(insn, true, ctx);
    case InsnClass.JMP32: return jmp(insn, false, ctx);
  }
  return `invalid opcode 0x${insn.code.toString(16)}`;
}

/**
 * Disassemble a whole instruction array, one line per instruction (`  12: r1 = ...`), skipping the
 * second slot of each `ld_imm64`. `relocations` (keyed by instruction index) make operands symbolic.
 */
export function formatInstructions(
  insns: readonly Instruction[],
  relocations: ReadonlyMap<number, ProgramRelocation> | readonly ProgramRelocation[] = [],
): string {
  const byIndex = relocations instanceof Map ? relocations : new Map((relocations as readonly ProgramRelocation[]).map((r) => [r.insnIndex, r]));
  const width = String(Math.max(0, insns.length - 1)).length;
  const lines: string[] = [];
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    const ctx: FormatContext = { next: insns[i + 1], relocation: byIndex.get(i) };
    lines.push(`${String(i).padStart(width)}: ${formatInstruction(insn, ctx)}`);
    if (insn.code === LD_IMM64) i++;
  }
  return lines.join("\n");
}

// The instruction builder: each constructor gives the bytes of the kernel's macro of the same name.
import { describe, expect, it } from "vitest";
import { AluOp, asm, decodeInstructions, encodeInstructions, formatInstructions, InsnSize, PseudoLd, type Instruction } from "@x/reloc";

const hex = (insns: readonly Instruction[], le = true) =>
  Buffer.from(encodeInstructions(insns, le)).toString("hex").match(/.{16}/g)!;

describe("asm", () => {
  it("encodes as the kernel's BPF_* instruction macros do (little-endian)", () => {
    expect(hex([asm.mov64Imm(0, 42)])).toEqual(["b70000002a000000"]); // BPF_MOV64_IMM(BPF_REG_0, 42)
    expect(hex([asm.mov64Reg(2, 10)])).toEqual(["bfa2000000000000"]); // BPF_MOV64_REG(BPF_REG_2, BPF_REG_10)
    expect(hex([asm.alu64Imm(AluOp.ADD, 2, -8)])).toEqual(["07020000f8ffffff"]); // BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8)
    expect(hex([asm.exit()])).toEqual(["9500000000000000"]); // BPF_EXIT_INSN()
    expect(hex([asm.call(1)])).toEqual(["8500000001000000"]); // BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem)
    expect(hex([asm.kfuncCall(1234)])).toEqual(["85200000d2040000"]); // BPF_RAW_INSN(JMP|CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, id)
    expect(hex([asm.kfuncCall(7, 2)])).toEqual(["8520020007000000"]); // off: fd_array index of a module BTF
    expect(hex(asm.ldImm64(1, PseudoLd.MAP_VALUE, 3, 8))).toEqual(["1821000003000000", "0000000008000000"]); // BPF_LD_MAP_VALUE
    expect(hex([asm.stMem("DW", 1, 0, 42)])).toEqual(["7a0100002a000000"]); // BPF_ST_MEM(BPF_DW, BPF_REG_1, 0, 42)
    expect(hex([asm.stMem("W", 10, -4, 7)])).toEqual(["620afcff07000000"]); // BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 7)
  });

  it("builds fresh instructions that decode back and print as pseudo-C", () => {
    const prog = [...asm.ldImm64(1, PseudoLd.MAP_IDX, 0), asm.stMem("B", 1, 3, 1), asm.mov64Imm(0, 0), asm.exit()];
    expect(prog[1]).toEqual({ code: 0, dstReg: 0, srcReg: 0, off: 0, imm: 0 });
    expect(decodeInstructions(encodeInstructions(prog, false), false)).toEqual(prog);
    expect(formatInstructions(prog).split("\n")).toEqual(["0: r1 = map_idx(0) ll", "2: *(u8 *)(r1 + 3) = 1", "3: r0 = 0", "4: exit"]);
    const a = asm.exit();
    a.imm = 5;
    expect(asm.exit().imm).toBe(0);
    expect(Object.keys(InsnSize)).toEqual(["W", "H", "B", "DW"]);
  });
});

// patchCoreInstruction: libbpf's bpf_core_patch_insn rules for each instruction class, load/store
// size adjustment, validation of the compiler's value, and poisoning (bpf_core_poison_insn).
import { describe, expect, test } from "vitest";
import {
  asm, CORE_POISON_IMM, type CoreFix, encodeInstructions, decodeInstructions, formatInstructions, type Instruction, ldImm64Value,
  patchCoreInstruction, patchCoreInstructions, RelocationError,
} from "@x/reloc";

const fix = (origVal: bigint | number, newVal: bigint | number, more: Partial<CoreFix> = {}): CoreFix => ({
  origVal: BigInt.asUintN(64, BigInt(origVal)), newVal: BigInt.asUintN(64, BigInt(newVal)), poison: false, validate: true,
  failMemszAdjust: false, origSize: 0, newSize: 0, ...more,
});
const insn = (code: number, dstReg: number, srcReg: number, off: number, imm: number): Instruction => ({ code, dstReg, srcReg, off, imm });
const LDX_W = 0x61; // r = *(u32 *)(r + off)
const LDX_H = 0x69;
const STX_DW = 0x7b; // *(u64 *)(r + off) = r
const ST_W = 0x62; // *(u32 *)(r + off) = imm
const LDX_MEMSX_H = 0x89; // r = *(s16 *)(r + off)
const ALU32_ADD_K = 0x04;
const ALU64_ADD_X = 0x0f;
const poisoned = { code: 0x85, dstReg: 0, srcReg: 0, off: 0, imm: CORE_POISON_IMM };

function patch(insns: Instruction[], index: number, f: CoreFix) {
  const outcome = patchCoreInstruction(insns, index, f, { program: "prog", reloIndex: 3 });
  return { insns, outcome };
}
function error(f: () => unknown): RelocationError {
  try { f(); } catch (e) { if (e instanceof RelocationError) return e; throw e; }
  throw new Error("no error");
}

describe("ALU/ALU64 immediates", () => {
  test("r1 = 16 becomes r1 = 24", () => {
    const { insns, outcome } = patch([asm.mov64Imm(1, 16), asm.exit()], 0, fix(16, 24));
    expect(insns[0]).toEqual(asm.mov64Imm(1, 24));
    expect(outcome).toEqual({ action: "patched", message: "prog 'prog': relo #3: patched insn #0 (ALU/ALU64) imm 16 -> 24" });
  });

  test("32-bit ALU with an immediate: w1 += 4", () => {
    const { insns } = patch([insn(ALU32_ADD_K, 1, 0, 0, 4)], 0, fix(4, 40));
    expect(insns[0]!.imm).toBe(40);
  });

  test("the value is compared sign-extended, and the new one truncated to 32 bits, as libbpf does", () => {
    expect(patch([asm.mov64Imm(1, -5)], 0, fix(-5n, -100n)).insns[0]!.imm).toBe(-100);
    expect(patch([asm.mov64Imm(1, 1)], 0, fix(1, 0x1_0000_0007n)).insns[0]!.imm).toBe(7);
  });

  test("a value other than the compiler's is refused, unless validation is off", () => {
    const e = error(() => patch([asm.mov64Imm(1, 17)], 0, fix(16, 24, { localSpec: "<byte_off> [2] struct foo.x (0:1 @ offset 16)" })));
    expect(e.code).toBe("RELOC_CORE_MISMATCH");
    expect(e.message).toBe("prog 'prog': relo #3: unexpected insn #0 (ALU/ALU64) value: got 17, exp 16 -> 24 (<byte_off> [2] struct foo.x (0:1 @ offset 16))");
    expect(e.location).toEqual({ program: "prog", insnIndex: 0 });
    expect(patch([asm.mov64Imm(1, 17)], 0, fix(16, 24, { validate: false })).insns[0]!.imm).toBe(24);
    expect(error(() => patch([asm.mov64Imm(1, -1)], 0, fix(1, 2))).message).toContain("got 4294967295, exp 1 -> 2");
  });

  test("a register operand cannot be relocated", () => {
    const e = error(() => patch([insn(ALU64_ADD_X, 1, 2, 0, 0)], 0, fix(0, 1, { poison: true })));
    expect(e.code).toBe("RELOC_BAD_INSN");
    expect(e.message).toBe("prog 'prog': relo #3: trying to relocate unrecognized insn #0, code:0xf, src:0x2, dst:0x1, off:0x0, imm:0x0");
  });

  test("poison: call 0xbad2310", () => {
    const { insns, outcome } = patch([asm.mov64Imm(1, 8), asm.exit()], 0, fix(8, 0, { poison: true }));
    expect(insns).toEqual([poisoned, asm.exit()]);
    expect(outcome).toEqual({ action: "poisoned", message: "prog 'prog': relo #3: substituting insn #0 w/ invalid insn" });
    expect(formatInstructions(insns).split("\n")[0]).toBe("0: call 195896080");
  });
});

describe("LDX/ST/STX offsets and sizes", () => {
  test.each([
    ["LDX", insn(LDX_W, 1, 2, 8, 0)],
    ["ST", insn(ST_W, 1, 0, 8, 42)],
    ["STX", insn(STX_DW, 1, 2, 8, 0)],
    ["LDX (sign-extending)", insn(LDX_MEMSX_H, 1, 2, 8, 0)],
  ])("%s: the offset", (_n, i) => {
    const { insns, outcome } = patch([i], 0, fix(8, 24));
    expect(insns[0]).toEqual({ ...i, off: 24 });
    expect(outcome.message).toBe("prog 'prog': relo #3: patched insn #0 (LDX/ST/STX) off 8 -> 24");
  });

  test("a field that grew from 4 to 8 bytes: the load grows too", () => {
    const { insns, outcome } = patch([insn(LDX_W, 1, 2, 8, 0)], 0, fix(8, 16, { origSize: 4, newSize: 8 }));
    expect(insns[0]).toEqual(insn(0x79, 1, 2, 16, 0)); // r1 = *(u64 *)(r2 + 16)
    expect(outcome.message).toBe("prog 'prog': relo #3: patched insn #0 (LDX/ST/STX) off 8 -> 16, mem_sz 4 -> 8");
    // and a store shrinks, keeping its mode and class
    expect(patch([insn(STX_DW, 1, 2, 8, 0)], 0, fix(8, 8, { origSize: 8, newSize: 2 })).insns[0]!.code).toBe(0x6b);
    expect(patch([insn(LDX_MEMSX_H, 1, 2, 8, 0)], 0, fix(8, 8, { origSize: 2, newSize: 1 })).insns[0]!.code).toBe(0x91);
  });

  test("an access of another size than the field's, or to a size no instruction has, is refused", () => {
    const e = error(() => patch([insn(LDX_H, 1, 2, 8, 0)], 0, fix(8, 16, { origSize: 4, newSize: 8 })));
    expect([e.code, e.message]).toEqual(["RELOC_BAD_INSN", "prog 'prog': relo #3: insn #0 (LDX/ST/STX) unexpected mem size: got 2, exp 4"]);
    const e2 = error(() => patch([insn(LDX_W, 1, 2, 8, 0)], 0, fix(8, 16, { origSize: 4, newSize: 16 })));
    expect(e2.message).toBe("prog 'prog': relo #3: insn #0 (LDX/ST/STX) invalid new mem size: 16");
  });

  test("a size change libbpf refuses poisons the access, with its warning", () => {
    const { insns, outcome } = patch([insn(LDX_W, 1, 2, 8, 0)], 0, fix(8, 16, { origSize: 4, newSize: 8, failMemszAdjust: true }));
    expect(insns[0]).toEqual(poisoned);
    expect(outcome.action).toBe("poisoned");
    expect(outcome.warning).toBe("prog 'prog': relo #3: insn #0 (LDX/ST/STX) accesses field incorrectly. Make sure you are accessing pointers, unsigned integers, or fields of matching type and size.");
  });

  test("an offset past 32767 is refused; a wrong offset too (printed as libbpf does)", () => {
    expect(error(() => patch([insn(LDX_W, 1, 2, 8, 0)], 0, fix(8, 32768))).message).toBe("prog 'prog': relo #3: insn #0 (LDX/ST/STX) value too big: 32768");
    expect(patch([insn(LDX_W, 1, 2, 8, 0)], 0, fix(8, 32767)).insns[0]!.off).toBe(32767);
    const e = error(() => patch([insn(LDX_W, 1, 2, -8, 0)], 0, fix(8, 16)));
    expect([e.code, e.message]).toEqual(["RELOC_CORE_MISMATCH", "prog 'prog': relo #3: unexpected insn #0 (LDX/ST/STX) value: got 4294967288, exp 8 -> 16"]);
  });

  test("poison comes before validation", () => {
    expect(patch([insn(LDX_W, 1, 2, 99, 0)], 0, fix(8, 0, { poison: true })).insns[0]).toEqual(poisoned);
  });
});

describe("ld_imm64", () => {
  test("the 64-bit immediate, in both slots", () => {
    const insns = asm.ldImm64(1, 0, 0x80000000, 0);
    const { outcome } = patch(insns, 0, fix(0x80000000n, 0xffffffff00000001n));
    expect(ldImm64Value(insns, 0)).toBe(0xffffffff00000001n);
    expect(insns[0]!.imm).toBe(1);
    expect(insns[1]!.imm).toBe(-1);
    expect(outcome.message).toBe("prog 'prog': relo #3: patched insn #0 (LDIMM64) imm64 2147483648 -> 18446744069414584321");
  });

  test("validation compares all 64 bits", () => {
    // what clang emits for an unsigned 32-bit enumerator 0x80000000, against libbpf's sign-extended value
    const e = error(() => patch(asm.ldImm64(1, 0, 0x80000000, 0), 0, fix(0xffffffff80000000n, 1n)));
    expect([e.code, e.message]).toEqual(["RELOC_CORE_MISMATCH", "prog 'prog': relo #3: unexpected insn #0 (LDIMM64) value: got 2147483648, exp 18446744071562067968 -> 1"]);
    const ok = asm.ldImm64(1, 0, -5, -1);
    patch(ok, 0, fix(-5n, -100n));
    expect(ldImm64Value(ok, 0)).toBe(BigInt.asUintN(64, -100n));
  });

  test("poison: both slots become the invalid call", () => {
    const insns = [...asm.ldImm64(1, 0, 7, 0), asm.exit()];
    const { outcome } = patch(insns, 0, fix(7, 0, { poison: true }));
    expect(insns).toEqual([poisoned, poisoned, asm.exit()]);
    expect(outcome.message).toBe("prog 'prog': relo #3: substituting insns #0 and #1 w/ invalid insn");
    // and they encode and decode as two calls
    expect(decodeInstructions(encodeInstructions(insns, true), true).slice(0, 2)).toEqual([poisoned, poisoned]);
  });

  test("an ld_imm64 of another form (a map, a BTF id) is refused, before poisoning", () => {
    const e = error(() => patch(asm.ldImm64(1, 2, 3, 8), 0, fix(0, 0, { poison: true })));
    expect([e.code, e.message]).toEqual(["RELOC_BAD_INSN", "prog 'prog': relo #3: insn #0 (LDIMM64) has unexpected form"]);
    const second = asm.ldImm64(1, 0, 3, 0);
    second[1]!.off = 1;
    expect(error(() => patch(second, 0, fix(3, 4))).code).toBe("RELOC_BAD_INSN");
    // BPF_LD but not ld_imm64 (a legacy packet load)
    expect(error(() => patch([insn(0x20, 0, 0, 0, 4)], 0, fix(4, 8))).message).toContain("(LDIMM64) has unexpected form");
  });

  test("an ld_imm64 in the last slot is truncated", () => {
    const e = error(() => patch([asm.ldImm64(1, 0, 3, 0)[0]!], 0, fix(3, 4)));
    expect([e.code, e.message]).toEqual(["RELOC_TRUNCATED", "prog 'prog': relo #3: insn #0 (LDIMM64) is truncated"]);
  });
});

describe("other instructions and indexes", () => {
  test("jumps, calls and exits cannot be relocated", () => {
    expect(error(() => patch([asm.exit()], 0, fix(0, 0))).code).toBe("RELOC_BAD_INSN");
    expect(error(() => patch([asm.call(1)], 0, fix(1, 1))).code).toBe("RELOC_BAD_INSN");
  });

  test("an index outside the instructions", () => {
    const e = error(() => patch([asm.exit()], 1, fix(0, 0)));
    expect([e.code, e.location.insnIndex]).toEqual(["RELOC_INSN_OUT_OF_RANGE", 1]);
  });
});

describe("patchCoreInstructions", () => {
  test("patches a copy, and reports each outcome", () => {
    const input = [asm.mov64Imm(1, 8), insn(LDX_W, 2, 1, 4, 0), ...asm.ldImm64(3, 0, 1, 0), asm.exit()];
    const before = structuredClone(input);
    const seen: string[] = [];
    const out = patchCoreInstructions(input, [
      { insnIndex: 0, fix: fix(8, 16), program: "p", reloIndex: 0 },
      { insnIndex: 1, fix: fix(4, 12, { origSize: 4, newSize: 8 }), program: "p", reloIndex: 1 },
      { insnIndex: 2, fix: fix(1, 0, { poison: true }), program: "p", reloIndex: 2 },
    ], (o) => seen.push(o.message));
    expect(input).toEqual(before);
    expect(formatInstructions(out)).toBe([
      "0: r1 = 16",
      "1: r2 = *(u64 *)(r1 + 12)",
      "2: call 195896080",
      "3: call 195896080",
      "4: exit",
    ].join("\n"));
    expect(seen).toEqual([
      "prog 'p': relo #0: patched insn #0 (ALU/ALU64) imm 8 -> 16",
      "prog 'p': relo #1: patched insn #1 (LDX/ST/STX) off 4 -> 12, mem_sz 4 -> 8",
      "prog 'p': relo #2: substituting insns #2 and #3 w/ invalid insn",
    ]);
  });
});

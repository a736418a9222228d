import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  decodeInstructions, encodeInstructions, formatInstruction, formatInstructions, isCall, isLdImm64, isPseudoFunc, isSubprogCall,
  ldImm64Value, splitImm64, RelocationError, CALL, LD_IMM64, PseudoLd, PseudoCall, type Instruction,
} from "@x/reloc";
import { fixtureBytes, parseObject } from "./helpers.js";

const arbInsn: fc.Arbitrary<Instruction> = fc.record({
  code: fc.integer({ min: 0, max: 255 }).filter((c) => c !== LD_IMM64),
  dstReg: fc.integer({ min: 0, max: 15 }),
  srcReg: fc.integer({ min: 0, max: 15 }),
  off: fc.integer({ min: -0x8000, max: 0x7fff }),
  imm: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
});
/** A sequence of instructions where every ld_imm64 has its second slot. */
const arbProgram = fc
  .array(fc.oneof(arbInsn.map((i) => [i]), fc.tuple(arbInsn, arbInsn).map(([a, b]) => [{ ...a, code: LD_IMM64 }, { ...b, code: 0 }])), { maxLength: 40 })
  .map((chunks) => chunks.flat());

function err(fn: () => unknown): RelocationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RelocationError);
    return e as RelocationError;
  }
  throw new Error("expected a RelocationError");
}

describe("instruction codec", () => {
  it("round-trips decode(encode(x)) in both byte orders", () => {
    fc.assert(
      fc.property(arbProgram, fc.boolean(), (insns, le) => {
        const bytes = encodeInstructions(insns, le);
        expect(bytes.byteLength).toBe(insns.length * 8);
        expect(decodeInstructions(bytes, le)).toEqual(insns);
      }),
    );
  });

  it("round-trips encode(decode(bytes)) for any well-formed bytes", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 30 }), (le, slots) => {
        // make sure a trailing ld_imm64 opcode does not truncate
        const flat = new Uint8Array(slots.length * 8);
        slots.forEach((s, i) => flat.set(s, i * 8));
        if (slots.length > 0) {
          let i = 0;
          let lastStart = -1;
          while (i < slots.length) {
            lastStart = i;
            i += flat[i * 8] === LD_IMM64 ? 2 : 1;
          }
          if (i > slots.length) flat[lastStart * 8] = 0x95;
        }
        expect(encodeInstructions(decodeInstructions(flat, le), le)).toEqual(flat);
      }),
    );
  });

  it("re-encodes every executable section of the fixtures byte for byte", () => {
    for (const name of ["globals.bpf.o", "example.bpf.o", "sections.bpf.o", "big.bpf.o", "sk_lookup.bpf.o"]) {
      const src = parseObject(fixtureBytes(name));
      for (const sec of src.sections.filter((s) => s.flags & 4)) {
        expect(encodeInstructions(decodeInstructions(sec.data, true), true)).toEqual(sec.data);
      }
    }
  });

  it("splits the register byte by byte order", () => {
    const bytesLE = Uint8Array.of(0xbf, 0x21, 0, 0, 0, 0, 0, 0);
    expect(decodeInstructions(bytesLE, true)[0]).toMatchObject({ dstReg: 1, srcReg: 2 });
    const bytesBE = Uint8Array.of(0xbf, 0x12, 0, 0, 0, 0, 0, 0);
    expect(decodeInstructions(bytesBE, false)[0]).toMatchObject({ dstReg: 1, srcReg: 2 });
    const insn: Instruction = { code: 0x61, dstReg: 3, srcReg: 10, off: -4, imm: 0x01020304 };
    expect([...encodeInstructions([insn], true)]).toEqual([0x61, 0xa3, 0xfc, 0xff, 4, 3, 2, 1]);
    expect([...encodeInstructions([insn], false)]).toEqual([0x61, 0x3a, 0xff, 0xfc, 1, 2, 3, 4]);
  });

  it("rejects a length that is not a multiple of 8", () => {
    expect(err(() => decodeInstructions(new Uint8Array(12), true)).code).toBe("RELOC_TRUNCATED");
  });

  it("rejects an ld_imm64 in the last slot", () => {
    const bytes = new Uint8Array(24);
    bytes[0] = 0xb7;
    bytes[8] = 0x95;
    bytes[16] = LD_IMM64;
    const e = err(() => decodeInstructions(bytes, true));
    expect(e.code).toBe("RELOC_TRUNCATED");
    expect(e.location.insnIndex).toBe(2);
    // an ld_imm64 opcode in a second slot does not count
    const ok = new Uint8Array(16);
    ok[0] = LD_IMM64;
    ok[8] = LD_IMM64;
    expect(decodeInstructions(ok, true)).toHaveLength(2);
  });

  it("rejects out-of-range fields on encode", () => {
    const base: Instruction = { code: 0x95, dstReg: 0, srcReg: 0, off: 0, imm: 0 };
    expect(err(() => encodeInstructions([{ ...base, dstReg: 16 }], true)).code).toBe("RELOC_BAD_INSN");
    expect(err(() => encodeInstructions([{ ...base, off: 0x8000 }], true)).code).toBe("RELOC_BAD_INSN");
    expect(err(() => encodeInstructions([base, { ...base, imm: 2 ** 33 }], true)).location.insnIndex).toBe(1);
    // unsigned 32-bit immediates are accepted and read back signed
    expect(decodeInstructions(encodeInstructions([{ ...base, imm: 0xffffffff }], true), true)[0]!.imm).toBe(-1);
  });

  it("reads and splits 64-bit immediates", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        const { lo, hi } = splitImm64(v);
        const insns: Instruction[] = [
          { code: LD_IMM64, dstReg: 1, srcReg: 0, off: 0, imm: lo },
          { code: 0, dstReg: 0, srcReg: 0, off: 0, imm: hi },
        ];
        expect(ldImm64Value(insns, 0)).toBe(v);
        expect(decodeInstructions(encodeInstructions(insns, false), false)).toEqual(insns);
      }),
    );
    expect(err(() => ldImm64Value([{ code: 0x95, dstReg: 0, srcReg: 0, off: 0, imm: 0 }], 0)).code).toBe("RELOC_BAD_INSN");
    expect(err(() => ldImm64Value([{ code: LD_IMM64, dstReg: 0, srcReg: 0, off: 0, imm: 0 }], 0)).code).toBe("RELOC_TRUNCATED");
  });

  it("classifies calls and loads", () => {
    const call: Instruction = { code: CALL, dstReg: 0, srcReg: PseudoCall.CALL, off: 0, imm: 5 };
    expect(isCall(call)).toBe(true);
    expect(isSubprogCall(call)).toBe(true);
    expect(isSubprogCall({ ...call, srcReg: 0 })).toBe(false);
    const ld: Instruction = { code: LD_IMM64, dstReg: 1, srcReg: PseudoLd.FUNC, off: 0, imm: 0 };
    expect(isLdImm64(ld)).toBe(true);
    expect(isPseudoFunc(ld)).toBe(true);
    expect(isLdImm64(undefined)).toBe(false);
  });
});

describe("formatInstruction", () => {
  const f = (code: number, dst: number, src: number, off: number, imm: number, ctx = {}) =>
    formatInstruction({ code, dstReg: dst, srcReg: src, off, imm }, ctx);

  it("prints the common forms", () => {
    expect(f(0x85, 0, 0, 0, 1)).toBe("call 1");
    expect(f(0x85, 0, 1, 0, 5)).toBe("call pc+5");
    expect(f(0x85, 0, 1, 0, -3)).toBe("call pc-3");
    expect(f(0x85, 0, 2, 0, 1234)).toBe("call kfunc 1234");
    expect(f(0x95, 0, 0, 0, 0)).toBe("exit");
    expect(f(0xb7, 1, 0, 0, 0)).toBe("r1 = 0");
    expect(f(0xbf, 2, 10, 0, 0)).toBe("r2 = r10");
    expect(f(0x07, 2, 0, 0, -4)).toBe("r2 += -4");
    expect(f(0x0c, 2, 3, 0, 0)).toBe("w2 += w3");
    expect(f(0x61, 0, 1, 4, 0)).toBe("r0 = *(u32 *)(r1 + 4)");
    expect(f(0x63, 10, 1, -4, 0)).toBe("*(u32 *)(r10 - 4) = r1");
    expect(f(0x7a, 10, 0, -8, 42)).toBe("*(u64 *)(r10 - 8) = 42");
    expect(f(0x15, 0, 0, 2, 0)).toBe("if r0 == 0 goto +2");
    expect(f(0x5d, 1, 2, -7, 0)).toBe("if r1 != r2 goto -7");
    expect(f(0x05, 0, 0, 21, 0)).toBe("goto +21");
    expect(f(0xdb, 0, 1, 0, 0)).toBe("lock *(u64 *)(r0 + 0) += r1");
    expect(f(0x87, 3, 0, 0, 0)).toBe("r3 = -r3");
    expect(f(0xff, 0, 0, 0, 0)).toBe("invalid alu opcode 0xff");
    expect(f(0xe1, 0, 0, 0, 0)).toBe("invalid opcode 0xe1");
  });

  it("prints ld_imm64 with pseudo sources, values and relocations", () => {
    expect(f(0x18, 1, 0, 0, 0x30, { next: { code: 0, dstReg: 0, srcReg: 0, off: 0, imm: 1 } })).toBe("r1 = 0x100000030 ll");
    expect(f(0x18, 1, 1, 0, 7)).toBe("r1 = map_fd(7) ll");
    expect(f(0x18, 1, 2, 0, 7, { next: { code: 0, dstReg: 0, srcReg: 0, off: 0, imm: 8 } })).toBe("r1 = map_value(fd 7+8) ll");
    expect(f(0x18, 1, 5, 0, 2)).toBe("r1 = map_idx(2) ll");
    const data = { kind: "data", insnIndex: 0, section: "tc", program: "p", symbol: "cfg_u32", symbolIndex: 1, targetSection: ".rodata", offset: 8 } as const;
    expect(f(0x18, 1, 0, 0, 0, { relocation: data })).toBe("r1 = map_value(.rodata+8) ll");
    expect(f(0x18, 1, 0, 0, 0, { relocation: { ...data, kind: "map", mapName: "counters" } })).toBe("r1 = map(counters) ll");
  });

  it("disassembles a whole section", () => {
    const src = parseObject(fixtureBytes("globals.bpf.o"));
    const text = src.sections.find((s) => s.name === ".text")!;
    expect(formatInstructions(decodeInstructions(text.data, true)).split("\n")).toEqual([
      "0: r2 = 0x0 ll",
      "2: r0 = *(u32 *)(r2 + 0)",
      "3: r0 += r1",
      "4: exit",
      "5: r0 = r2",
      "6: r1 *= 31",
      "7: r0 += r1",
      "8: r0 += 77",
      "9: exit",
    ]);
  });
});

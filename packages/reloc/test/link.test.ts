import { describe, expect, it } from "vitest";
import { SymbolBinding, SymbolType } from "@x/elf";
import {
  collectRelocations, decodeInstructions, findPrograms, linkProgram, rebaseExtInfo, PseudoLd, type LinkedProgram,
} from "@x/reloc";
import { craft, fixtureBytes, I, parseObject, relocationError as err } from "./helpers.js";

const FUNC = { type: SymbolType.FUNC };
const STATIC_FUNC = { type: SymbolType.FUNC, binding: SymbolBinding.LOCAL };

/** Index of the instruction a call/func-address at `i` now targets. */
const targetOf = (p: LinkedProgram, i: number) => i + p.insns[i]!.imm + 1;

describe("linkProgram on globals.bpf.o", () => {
  const src = parseObject(fixtureBytes("globals.bpf.o"));
  const relocs = collectRelocations(src);
  const text = decodeInstructions(src.sections.find((s) => s.name === ".text")!.data, true);
  const tc = decodeInstructions(src.sections.find((s) => s.name === "tc")!.data, true);

  it("appends mix then global_helper after update_state", () => {
    const p = linkProgram(src, "update_state", relocs);
    expect(p.name).toBe("update_state");
    expect(p.section).toBe("tc");
    expect(p.segments).toEqual([
      { program: "update_state", section: "tc", from: 41, to: 85, at: 0 },
      { program: "mix", section: ".text", from: 5, to: 10, at: 44 },
      { program: "global_helper", section: ".text", from: 0, to: 5, at: 49 },
    ]);
    expect(p.insns).toHaveLength(54);
    // the appended code is the .text code, unchanged (global_helper's ld_imm64 is patched later)
    expect(p.insns.slice(44, 49)).toEqual(text.slice(5, 10));
    expect(p.insns.slice(49, 54)).toEqual(text.slice(0, 5));
  });

  it("points the call immediates at the subprograms' first instruction", () => {
    const p = linkProgram(src, "update_state", relocs);
    // tc insn 69 (`call mix`) is update_state's insn 28; tc insn 83 (`call global_helper`) is 42
    expect(p.insns[28]).toMatchObject({ code: 0x85, srcReg: 1, imm: 44 - 28 - 1 });
    expect(p.insns[42]).toMatchObject({ code: 0x85, srcReg: 1, imm: 49 - 42 - 1 });
    expect(targetOf(p, 28)).toBe(p.segments.find((s) => s.program === "mix")!.at);
    expect(targetOf(p, 42)).toBe(p.segments.find((s) => s.program === "global_helper")!.at);
    // everything else is the original code
    for (let i = 0; i < 44; i++) if (i !== 28 && i !== 42) expect(p.insns[i]).toEqual(tc[41 + i]);
  });

  it("re-expresses data and map relocations at their new indexes", () => {
    const p = linkProgram(src, "update_state", relocs);
    expect(p.relocations.map((r) => [r.insnIndex, r.kind, r.symbol, r.targetSection, r.offset])).toEqual([
      [0, "data", "bss_hits", ".bss", 0],
      [5, "data", "data_counter", ".data", 0],
      [11, "data", "bss_buf", ".bss", 12],
      [17, "data", "bss_last_len", ".bss", 8],
      [20, "data", "custom_data", ".data.custom", 0],
      [25, "data", "data_limits", ".data", 24],
      [30, "data", ".bss", ".bss", 48],
      [35, "data", "data_array", ".data", 8],
      [49, "data", "custom_ro", ".rodata.custom", 0],
    ]);
    for (const r of p.relocations) expect(p.insns[r.insnIndex]!.code).toBe(0x18);
    expect(p.relocations.at(-1)).toMatchObject({ program: "global_helper", section: ".text" });
  });

  it("links programs without subprograms to themselves", () => {
    const p = linkProgram(src, "read_config");
    expect(p.insns).toEqual(tc.slice(0, 41));
    expect(p.segments).toEqual([{ program: "read_config", section: "tc", from: 0, to: 41, at: 0 }]);
    expect(p.relocations[0]).toMatchObject({ kind: "map", mapName: "counters", insnIndex: 4 });
    const s = linkProgram(src, "read_custom");
    expect(s.relocations.map((r) => r.insnIndex)).toEqual([0, 3]);
  });

  it("does not modify the object", () => {
    const before = src.sections.find((s) => s.name === "tc")!.data.slice();
    linkProgram(src, "update_state", relocs);
    expect(src.sections.find((s) => s.name === "tc")!.data).toEqual(before);
  });

  it("rejects unknown programs", () => {
    const e = err(() => linkProgram(src, "nope", relocs));
    expect(e.code).toBe("RELOC_UNKNOWN_PROGRAM");
    expect(e.message).toContain("read_config");
  });
});

describe("linkProgram: hand-crafted", () => {
  // .text: a (0..2) calls b without relocation (static call in the same section); b (3..4) calls a (recursion)
  const textInsns = [I.mov(0, 1), I.call(1, 1), I.exit(), I.call(-4, 1), I.exit()];

  it("follows calls without relocation inside .text, appends each subprogram once and handles recursion", () => {
    const src = craft({
      sections: [
        { name: ".text", insns: textInsns },
        { name: "tc", insns: [I.call(-1, 1), I.call(-1, 1), ...I.ld64(1, 0, 4), I.exit()] },
      ],
      symbols: [
        { name: "a", section: ".text", size: 24, ...STATIC_FUNC },
        { name: "b", section: ".text", value: 24, size: 16, ...STATIC_FUNC },
        { name: ".text", section: ".text", type: SymbolType.SECTION, binding: SymbolBinding.LOCAL },
        { name: "prog", section: "tc", size: 40, ...FUNC },
        { name: "cb", section: ".text", value: 24, size: 0, type: SymbolType.NOTYPE, binding: SymbolBinding.LOCAL },
      ],
      relocs: [
        { section: "tc", offset: 0, symbol: "a" },
        { section: "tc", offset: 8, symbol: "a" },
        // function address of b via the section symbol: imm (in the instruction) carries the offset
        { section: "tc", offset: 16, symbol: ".text" },
      ],
    });
    // put b's byte offset in the ld_imm64's imm, as clang does for static functions
    const tc = src.sections.find((s) => s.name === "tc")!;
    new DataView(tc.data.buffer, tc.data.byteOffset).setInt32(16 + 4, 24, true);
    const p = linkProgram(src, "prog");
    expect(p.segments.map((s) => [s.program, s.at])).toEqual([["prog", 0], ["a", 5], ["b", 8]]);
    expect(targetOf(p, 0)).toBe(5);
    expect(targetOf(p, 1)).toBe(5);
    expect(p.insns[2]).toMatchObject({ srcReg: PseudoLd.FUNC });
    expect(targetOf(p, 2)).toBe(8);
    expect(targetOf(p, 5 + 1)).toBe(8); // a -> b
    expect(targetOf(p, 8 + 0)).toBe(5); // b -> a
    expect(p.relocations).toEqual([]);
  });

  it("resolves global function addresses and keeps kfunc calls for the loader", () => {
    const src = craft({
      sections: [
        { name: ".text", insns: [I.mov(0, 0), I.exit()] },
        { name: "xdp", insns: [...I.ld64(2, 0, 0), I.call(0, 2), I.exit()] },
      ],
      symbols: [
        { name: "cb", section: ".text", size: 16, ...FUNC },
        { name: "prog", section: "xdp", size: 32, ...FUNC },
        { name: "bpf_kfunc", section: 0, type: SymbolType.NOTYPE },
      ],
      relocs: [{ section: "xdp", offset: 0, symbol: "cb" }, { section: "xdp", offset: 16, symbol: "bpf_kfunc" }],
    });
    const p = linkProgram(src, "prog");
    expect(p.insns[0]).toMatchObject({ srcReg: PseudoLd.FUNC, imm: 4 - 0 - 1 });
    expect(p.insns[2]).toMatchObject({ code: 0x85, srcReg: 2, imm: 0 });
    expect(p.relocations).toEqual([expect.objectContaining({ kind: "extern-call", insnIndex: 2, externName: "bpf_kfunc" })]);
  });

  it("RELOC_BAD_CALL_TARGET: a call into the middle of a subprogram", () => {
    const src = craft({
      sections: [{ name: ".text", insns: textInsns }, { name: "tc", insns: [I.call(0, 1), I.exit()] }],
      symbols: [
        { name: "a", section: ".text", size: 24, ...STATIC_FUNC },
        { name: ".text", section: ".text", type: SymbolType.SECTION, binding: SymbolBinding.LOCAL },
        { name: "prog", section: "tc", size: 16, ...FUNC },
      ],
      relocs: [{ section: "tc", offset: 0, symbol: ".text" }],
    });
    const e = err(() => linkProgram(src, "prog"));
    expect(e.code).toBe("RELOC_BAD_CALL_TARGET");
    expect(e.message).toContain("inside 'a'");
    expect(e.location).toMatchObject({ program: "prog", section: "tc", insnIndex: 0 });
  });

  it("RELOC_BAD_CALL_TARGET: a call with no relocation outside .text", () => {
    const src = craft({
      sections: [{ name: "tc", insns: [I.call(1, 1), I.exit(), I.exit()] }],
      symbols: [{ name: "prog", section: "tc", size: 16, ...FUNC }, { name: "other", section: "tc", value: 16, size: 8, ...FUNC }],
      relocs: [],
    });
    const e = err(() => linkProgram(src, "prog"));
    expect(e.code).toBe("RELOC_BAD_CALL_TARGET");
    expect(e.message).toContain("'other' is not in .text");
  });

  it("RELOC_BAD_INSN: a BPF_PSEUDO_FUNC load without relocation", () => {
    const src = craft({
      sections: [{ name: "tc", insns: [...I.ld64(1, 0, PseudoLd.FUNC), I.exit()] }],
      symbols: [{ name: "prog", section: "tc", size: 24, ...FUNC }],
      relocs: [],
    });
    expect(err(() => linkProgram(src, "prog")).code).toBe("RELOC_BAD_INSN");
  });

  it("accepts precomputed programs", () => {
    const src = parseObject(fixtureBytes("globals.bpf.o"));
    const programs = findPrograms(src);
    expect(linkProgram(src, "strings", undefined, { programs }).insns).toHaveLength(31);
  });
});

describe("rebaseExtInfo", () => {
  const src = parseObject(fixtureBytes("globals.bpf.o"));
  const p = linkProgram(src, "update_state");

  it("moves func_info records (byte offsets) to the linked program", () => {
    const funcInfo = {
      tc: [{ insnOff: 0, typeId: 10 }, { insnOff: 41 * 8, typeId: 11 }],
      ".text": [{ insnOff: 0, typeId: 20 }, { insnOff: 5 * 8, typeId: 21 }],
      socket: [{ insnOff: 0, typeId: 30 }],
    };
    expect(rebaseExtInfo(funcInfo, p.segments)).toEqual([
      { insnOff: 0, typeId: 11 },
      { insnOff: 44, typeId: 21 },
      { insnOff: 49, typeId: 20 },
    ]);
  });

  it("moves line_info records within ranges, from a Map, in instruction units", () => {
    const lines = new Map([
      ["tc", [{ insnOff: 40, line: 1 }, { insnOff: 41, line: 2 }, { insnOff: 84, line: 3 }, { insnOff: 85, line: 4 }]],
      [".text", [{ insnOff: 7, line: 5 }, { insnOff: 2, line: 6 }]],
    ]);
    expect(rebaseExtInfo(lines, p.segments, { unit: "insns" })).toEqual([
      { insnOff: 0, line: 2 },
      { insnOff: 43, line: 3 },
      { insnOff: 46, line: 5 },
      { insnOff: 51, line: 6 },
    ]);
  });

  it("rejects a misaligned byte offset", () => {
    expect(err(() => rebaseExtInfo({ tc: [{ insnOff: 4 }] }, p.segments)).code).toBe("RELOC_BAD_OFFSET");
  });
});

import { describe, expect, it } from "vitest";
import { SectionIndex, SectionType, SymbolBinding, SymbolType } from "@x/elf";
import { collectRelocations, dataSectionKind, findPrograms, type ProgramRelocation, type RelocSource } from "@x/reloc";
import { craft, fixtureBytes, haveObjdump, I, objdumpRelocations, parseObject, plain, relocationError as err } from "./helpers.js";

const FUNC = { type: SymbolType.FUNC };

describe("findPrograms", () => {
  it("finds every function of globals.bpf.o like libbpf add_programs", () => {
    const progs = findPrograms(parseObject(fixtureBytes("globals.bpf.o")));
    expect(progs.map((p) => [p.name, p.section, p.insnOffset, p.insnCount, p.global, p.isSubprog])).toEqual([
      ["global_helper", ".text", 0, 5, true, true],
      ["mix", ".text", 5, 5, false, true],
      ["read_config", "tc", 0, 41, true, false],
      ["update_state", "tc", 41, 44, true, false],
      ["strings", "socket", 0, 31, true, false],
      ["read_custom", "socket", 31, 8, true, false],
    ]);
  });

  it("finds the programs of the other fixtures", () => {
    for (const name of ["example.bpf.o", "sections.bpf.o", "big.bpf.o", "sk_lookup.bpf.o"]) {
      const progs = findPrograms(parseObject(fixtureBytes(name)));
      expect(progs.length).toBeGreaterThan(0);
      for (const p of progs) expect(p.isSubprog).toBe(false);
    }
  });

  it("takes a static function outside .text as a program (cilium/ebpf; libbpf refuses it)", () => {
    const src = craft({
      sections: [{ name: "tc", insns: [I.mov(0, 0), I.exit()] }],
      symbols: [{ name: "prog", section: "tc", size: 16, ...FUNC, binding: SymbolBinding.LOCAL }],
      relocs: [],
    });
    expect(findPrograms(src)).toMatchObject([{ name: "prog", section: "tc", global: false, isSubprog: false, insnCount: 2 }]);
  });

  it("accepts a static function in .text and flags hidden globals", () => {
    const src = craft({
      sections: [{ name: ".text", insns: [I.exit(), I.exit()] }],
      symbols: [
        { name: "a", section: ".text", size: 8, ...FUNC, binding: SymbolBinding.LOCAL },
        { name: "b", section: ".text", value: 8, size: 8, ...FUNC, visibility: 2 },
      ],
      relocs: [],
    });
    expect(findPrograms(src).map((p) => [p.name, p.global, p.hidden])).toEqual([["a", false, false], ["b", true, true]]);
  });

  it("rejects functions crossing the section end, misaligned or empty", () => {
    const mk = (value: number, size: number) =>
      craft({ sections: [{ name: "tc", insns: [I.mov(0, 0), I.exit()] }], symbols: [{ name: "p", section: "tc", value, size, ...FUNC }], relocs: [] });
    expect(err(() => findPrograms(mk(8, 16))).code).toBe("RELOC_BAD_PROGRAM");
    expect(err(() => findPrograms(mk(0, 12))).code).toBe("RELOC_BAD_PROGRAM");
    expect(err(() => findPrograms(mk(4, 8))).code).toBe("RELOC_BAD_PROGRAM");
    expect(err(() => findPrograms(mk(0, 0))).code).toBe("RELOC_BAD_PROGRAM");
  });
});

describe("collectRelocations on globals.bpf.o", () => {
  const src = parseObject(fixtureBytes("globals.bpf.o"));
  const relocs = collectRelocations(src);
  const all = [...relocs.values()].flat();
  const at = (section: string, insn: number) => relocs.get(section)!.find((r) => r.insnIndex === insn)!;

  it.skipIf(!haveObjdump() && !process.env.CI)("matches llvm-objdump-19 -dr offsets and symbol names", () => {
    const expected = objdumpRelocations("globals.bpf.o");
    expect(expected.length).toBe(25);
    const got = [...relocs].flatMap(([section, list]) => list.map((r) => ({ section, offset: r.insnIndex * 8, symbol: r.symbol })));
    expect(got.sort(cmp)).toEqual(expected.map(({ section, offset, symbol }) => ({ section, offset, symbol })).sort(cmp));
  });

  it("has one entry per executable section", () => {
    expect([...relocs.keys()].sort()).toEqual([".text", "socket", "tc"]);
  });

  it("classifies .maps references as map relocations", () => {
    expect(at("tc", 4)).toMatchObject({ kind: "map", mapName: "counters", targetSection: ".maps", offset: 0, program: "read_config" });
    expect(at("socket", 12)).toMatchObject({ kind: "map", mapName: "table", offset: 0x20, program: "strings" });
    expect(all.filter((r) => r.kind === "map").map((r) => r.mapName).sort()).toEqual(["counters", "table"]);
  });

  it("gives cfg_* data relocations in .rodata at the symbols' values", () => {
    const cfg = all.filter((r) => r.symbol.startsWith("cfg_"));
    expect(cfg.length).toBe(8); // 7 in tc, cfg_mode again in socket
    for (const r of cfg) {
      const sym = src.symbols.find((s) => s.name === r.symbol)!;
      expect(r).toMatchObject({ kind: "data", targetSection: ".rodata", offset: sym.value });
    }
  });

  it("adds the instruction's addend for section symbols (static vars, literals)", () => {
    // bpf_printk's format: `r1 = 0x60 ll` against the .rodata section symbol
    expect(at("socket", 20)).toMatchObject({ kind: "data", symbol: ".rodata", targetSection: ".rodata", offset: 0x60 });
    // the string literal lives in .rodata.str1.1 at offset 0
    expect(at("socket", 25)).toMatchObject({ kind: "data", symbol: ".rodata.str1.1", targetSection: ".rodata.str1.1", offset: 0 });
    // static_bss: `r1 = 0x30 ll` against .bss
    expect(at("tc", 71)).toMatchObject({ kind: "data", symbol: ".bss", targetSection: ".bss", offset: 0x30, program: "update_state" });
  });

  it("classifies .data, .bss and custom sections", () => {
    expect(at("tc", 41)).toMatchObject({ kind: "data", symbol: "bss_hits", targetSection: ".bss", offset: 0 });
    expect(at("tc", 52)).toMatchObject({ kind: "data", symbol: "bss_buf", targetSection: ".bss", offset: 0xc });
    expect(at("tc", 66)).toMatchObject({ kind: "data", symbol: "data_limits", targetSection: ".data", offset: 0x18 });
    expect(at("tc", 76)).toMatchObject({ kind: "data", symbol: "data_array", targetSection: ".data", offset: 8 });
    expect(at("tc", 61)).toMatchObject({ kind: "data", symbol: "custom_data", targetSection: ".data.custom" });
    expect(at("socket", 31)).toMatchObject({ kind: "data", symbol: "custom_ro", targetSection: ".rodata.custom", program: "read_custom" });
    expect(at(".text", 0)).toMatchObject({ kind: "data", symbol: "custom_ro", targetSection: ".rodata.custom", program: "global_helper" });
  });

  it("classifies the calls of mix and global_helper as subprogram calls", () => {
    expect(at("tc", 69)).toMatchObject({ kind: "subprog-call", symbol: ".text", targetSection: ".text", offset: 0, targetInsn: 5 });
    expect(at("tc", 83)).toMatchObject({ kind: "subprog-call", symbol: "global_helper", offset: 0, targetInsn: 0 });
    const progs = findPrograms(src);
    expect(progs.find((p) => p.insnOffset === 5 && p.section === ".text")!.name).toBe("mix");
  });

  it("sorts each list by instruction index", () => {
    for (const list of relocs.values()) {
      expect(list.map((r) => r.insnIndex)).toEqual([...list.map((r) => r.insnIndex)].sort((a, b) => a - b));
    }
  });

  it("classifies the other fixtures without error", () => {
    for (const name of ["example.bpf.o", "sections.bpf.o", "big.bpf.o", "sk_lookup.bpf.o"]) {
      const r = collectRelocations(parseObject(fixtureBytes(name)));
      const n = [...r.values()].flat().length;
      if (haveObjdump()) expect(n).toBe(objdumpRelocations(name).length);
    }
  });
});

function cmp(a: { section: string; offset: number }, b: { section: string; offset: number }): number {
  return a.section.localeCompare(b.section) || a.offset - b.offset;
}

describe("collectRelocations: hand-crafted kinds", () => {
  it("classifies externs with their weak flag", () => {
    const src = craft({
      sections: [{ name: "tc", insns: [...I.ld64(1), I.call(0, 2), I.exit()] }],
      symbols: [
        { name: "prog", section: "tc", size: 32, ...FUNC },
        { name: "CONFIG_HZ", section: 0, type: SymbolType.NOTYPE, binding: SymbolBinding.WEAK },
        { name: "bpf_kfunc", section: 0, type: SymbolType.NOTYPE },
      ],
      relocs: [{ section: "tc", offset: 0, symbol: "CONFIG_HZ" }, { section: "tc", offset: 16, symbol: "bpf_kfunc" }],
    });
    const list = collectRelocations(src).get("tc")!;
    expect(list).toEqual([
      expect.objectContaining({ kind: "extern-ld64", insnIndex: 0, externName: "CONFIG_HZ", weak: true }),
      expect.objectContaining({ kind: "extern-call", insnIndex: 2, externName: "bpf_kfunc", weak: false }),
    ]);
  });

  it("classifies function addresses as subprog-addr", () => {
    const src = craft({
      sections: [
        { name: ".text", insns: [I.exit(), I.mov(0, 1), I.exit()] },
        { name: "tc", insns: [...I.ld64(1, 0, 4), ...I.ld64(2, 8, 4), I.exit()] },
      ],
      symbols: [
        { name: "cb", section: ".text", size: 8, ...FUNC },
        { name: "cb2", section: ".text", value: 8, size: 16, ...FUNC, binding: SymbolBinding.LOCAL },
        { name: ".text", section: ".text", type: SymbolType.SECTION, binding: SymbolBinding.LOCAL },
        { name: "prog", section: "tc", size: 40, ...FUNC },
      ],
      relocs: [{ section: "tc", offset: 0, symbol: "cb" }, { section: "tc", offset: 16, symbol: ".text" }],
    });
    expect(collectRelocations(src).get("tc")).toEqual([
      expect.objectContaining({ kind: "subprog-addr", symbol: "cb", targetInsn: 0 }),
      expect.objectContaining({ kind: "subprog-addr", symbol: ".text", targetInsn: 1 }),
    ]);
  });

  it("resolves a .maps section symbol to the map defined at its offset", () => {
    const src = craft({
      sections: [{ name: "tc", insns: [...I.ld64(1), I.exit()] }, { name: ".maps", size: 64 }],
      symbols: [
        { name: "prog", section: "tc", size: 24, ...FUNC },
        { name: "", section: ".maps", type: SymbolType.SECTION, binding: SymbolBinding.LOCAL, value: 32 },
        { name: "second", section: ".maps", value: 32, size: 32 },
      ],
      relocs: [{ section: "tc", offset: 0, symbol: 2 }],
    });
    expect(collectRelocations(src).get("tc")![0]).toMatchObject({ kind: "map", symbol: ".maps", mapName: "second", offset: 32 });
  });

  it("skips relocations outside every program, like libbpf", () => {
    const src = craft({
      sections: [{ name: "tc", insns: [I.mov(0, 0), I.exit(), ...I.ld64(1), I.exit()] }, { name: ".data" }],
      symbols: [{ name: "prog", section: "tc", size: 16, ...FUNC }, { name: "x", section: ".data" }],
      relocs: [{ section: "tc", offset: 16, symbol: "x" }],
    });
    expect(collectRelocations(src).get("tc")).toEqual([]);
  });
});

describe("collectRelocations: errors", () => {
  const base = (over: Partial<{ insns: ReturnType<typeof I.ld64>; relocOffset: number; sym: object; size: number }> = {}): RelocSource =>
    craft({
      sections: [
        { name: "tc", insns: over.insns ?? [...I.ld64(1), I.exit()], ...(over.size !== undefined ? { size: over.size } : {}) },
        { name: ".data" },
        { name: "license" },
        { name: ".text", insns: [I.exit(), I.exit()] },
      ],
      symbols: [
        { name: "prog", section: "tc", size: 24, ...FUNC },
        { name: "x", section: ".data", ...over.sym },
        { name: "sub", section: ".text", size: 16, ...FUNC },
      ],
      relocs: [{ section: "tc", offset: over.relocOffset ?? 0, symbol: "x" }],
    });

  it("RELOC_BAD_INSN: relocation not on ld_imm64 or call (hand-crafted)", () => {
    const e = err(() => collectRelocations(base({ insns: [I.mov(1, 0), I.mov(2, 0), I.exit()] })));
    expect(e.code).toBe("RELOC_BAD_INSN");
    expect(e.message).toContain("prog 'prog': invalid relo against 'x' for insns[0].code 0xb7");
    expect(e.location).toEqual({ program: "prog", section: "tc", insnIndex: 0, symbol: "x" });
  });

  it("RELOC_BAD_INSN: mutated fixture opcode", () => {
    const src = parseObject(fixtureBytes("globals.bpf.o"));
    const tc = src.sections.find((s) => s.name === "tc")!;
    expect(tc.data[46 * 8]).toBe(0x18);
    tc.data[46 * 8] = 0xb7; // update_state's `r3 = data_counter ll` (tc insn 46, its insn 5) becomes a mov
    const e = err(() => collectRelocations(src));
    expect(e.code).toBe("RELOC_BAD_INSN");
    expect(e.message).toContain("prog 'update_state': invalid relo against 'data_counter' for insns[5].code 0xb7");
    expect(e.location).toEqual({ program: "update_state", section: "tc", insnIndex: 46, symbol: "data_counter" });
  });

  it("RELOC_BAD_INSN: a relocated call without BPF_PSEUDO_CALL (mutated fixture)", () => {
    const src = parseObject(fixtureBytes("globals.bpf.o"));
    const tc = src.sections.find((s) => s.name === "tc")!;
    expect(tc.data[69 * 8]).toBe(0x85);
    tc.data[69 * 8 + 1] = 0x00; // src_reg 1 -> 0
    const e = err(() => collectRelocations(src));
    expect(e.code).toBe("RELOC_BAD_INSN");
    expect(e.message).toContain("incorrect bpf_call opcode");
    expect(e.location.insnIndex).toBe(69);
  });

  it("RELOC_BAD_OFFSET: r_offset misaligned or outside the section", () => {
    expect(err(() => collectRelocations(base({ relocOffset: 4 }))).code).toBe("RELOC_BAD_OFFSET");
    const e = err(() => collectRelocations(base({ relocOffset: 24 })));
    expect(e.code).toBe("RELOC_BAD_OFFSET");
    expect(e.message).toContain("invalid offset 0x18 for relo #0");
    expect(e.location.section).toBe("tc");
  });

  it("RELOC_BAD_OFFSET: mutated fixture relocation offset", () => {
    const src = parseObject(fixtureBytes("globals.bpf.o"));
    const rel = src.relocations.find((r) => r.target.name === "socket")!;
    const bad = { ...rel, entries: rel.entries.map((e, i) => (i === 2 ? { ...e, offset: e.offset + 3 } : e)) };
    const e = err(() => collectRelocations({ ...plain(src), relocations: [bad] }));
    expect(e.code).toBe("RELOC_BAD_OFFSET");
    expect(e.message).toContain("relo #2");
  });

  it("RELOC_BAD_SYMBOL: bad symbol index, missing section, misaligned call target", () => {
    const src = base();
    const badIdx = { ...src, relocations: [{ ...src.relocations[0]!, entries: [{ offset: 0, symbolIndex: 99, type: 1 }] }] };
    const e1 = err(() => collectRelocations(badIdx));
    expect(e1.code).toBe("RELOC_BAD_SYMBOL");
    expect(e1.message).toContain("symbol #99 not found");

    const badSec = { ...src, symbols: src.symbols.map((s) => (s.name === "x" ? { ...s, sectionIndex: 77 } : s)) };
    expect(err(() => collectRelocations(badSec)).message).toContain("invalid section #77");

    const misaligned = craft({
      sections: [{ name: "tc", insns: [I.call(-1, 1), I.exit()] }, { name: ".text", insns: [I.exit(), I.exit()] }],
      symbols: [{ name: "prog", section: "tc", size: 16, ...FUNC }, { name: "odd", section: ".text", value: 4, type: SymbolType.NOTYPE }],
      relocs: [{ section: "tc", offset: 0, symbol: "odd" }],
    });
    const e3 = err(() => collectRelocations(misaligned));
    expect(e3.code).toBe("RELOC_BAD_SYMBOL");
    expect(e3.message).toContain("bad call relo against 'odd' at offset 4");
  });

  it("RELOC_UNINITIALISED_GLOBAL: symbol in section 0 (not an extern) or a special section", () => {
    const undefObject = craft({
      sections: [{ name: "tc", insns: [...I.ld64(1), I.exit()] }],
      symbols: [{ name: "prog", section: "tc", size: 24, ...FUNC }, { name: "g", section: 0, type: SymbolType.OBJECT }],
      relocs: [{ section: "tc", offset: 0, symbol: "g" }],
    });
    const e1 = err(() => collectRelocations(undefObject));
    expect(e1.code).toBe("RELOC_UNINITIALISED_GLOBAL");
    expect(e1.message).toContain("forgot to initialize global var?");

    const src = base();
    const common = { ...src, symbols: src.symbols.map((s) => (s.name === "x" ? { ...s, sectionIndex: SectionIndex.COMMON } : s)) };
    const e2 = err(() => collectRelocations(common));
    expect(e2.code).toBe("RELOC_UNINITIALISED_GLOBAL");
    expect(e2.message).toContain("special section 0xfff2; forgot to initialize global var?");
    expect(e2.location.symbol).toBe("x");
  });

  it("RELOC_BAD_SECTION: data relo against a non-data section, call into a non-.text section", () => {
    const src = base();
    const license = src.sections.find((s) => s.name === "license")!.index;
    const e1 = err(() => collectRelocations({ ...src, symbols: src.symbols.map((s) => (s.name === "x" ? { ...s, sectionIndex: license } : s)) }));
    expect(e1.code).toBe("RELOC_BAD_SECTION");
    expect(e1.message).toContain("prog 'prog': bad data relo against section 'license'");

    const empty = craft({
      sections: [{ name: "tc", insns: [...I.ld64(1), I.exit()] }, { name: ".data", size: 0 }],
      symbols: [{ name: "prog", section: "tc", size: 24, ...FUNC }, { name: "x", section: ".data" }],
      relocs: [{ section: "tc", offset: 0, symbol: "x" }],
    });
    expect(err(() => collectRelocations(empty)).code).toBe("RELOC_BAD_SECTION");

    const callData = craft({
      sections: [{ name: "tc", insns: [I.call(-1, 1), I.exit()] }, { name: ".data" }],
      symbols: [{ name: "prog", section: "tc", size: 16, ...FUNC }, { name: "x", section: ".data" }],
      relocs: [{ section: "tc", offset: 0, symbol: "x" }],
    });
    const e3 = err(() => collectRelocations(callData));
    expect(e3.code).toBe("RELOC_BAD_SECTION");
    expect(e3.message).toContain("bad call relo against 'x' in section '.data'");
  });

  it("RELOC_INSN_OUT_OF_RANGE: section data shorter than its size", () => {
    const e = err(() => collectRelocations(base({ size: 64, relocOffset: 40 })));
    expect(e.code).toBe("RELOC_INSN_OUT_OF_RANGE");
    expect(e.location.insnIndex).toBe(5);
  });

  it("RELOC_TRUNCATED: an executable section ending in half an ld_imm64", () => {
    const src = base();
    const tc = src.sections.find((s) => s.name === "tc")!;
    const data = tc.data.slice(0, 8);
    const cut = { ...tc, data, size: 8 };
    const e = err(() =>
      collectRelocations({
        ...src,
        sections: src.sections.map((s) => (s === tc ? cut : s)),
        relocations: [{ ...src.relocations[0]!, target: cut }],
        symbols: src.symbols.map((s) => (s.name === "prog" ? { ...s, size: 8 } : s)),
      }),
    );
    expect(e.code).toBe("RELOC_TRUNCATED");
    expect(e.location.section).toBe("tc");
  });

  it("ignores relocation sections of non-executable targets", () => {
    const src = parseObject(fixtureBytes("globals.bpf.o"));
    expect(src.relocations.some((r) => r.target.name === ".BTF")).toBe(true);
    expect(src.sections.find((s) => s.name === ".BTF")!.type).toBe(SectionType.PROGBITS);
    const r = collectRelocations(src);
    expect([...r.values()].flat().every((x: ProgramRelocation) => ["tc", "socket", ".text"].includes(x.section))).toBe(true);
  });
});

describe("dataSectionKind", () => {
  const sec = (name: string, type: number = SectionType.PROGBITS, size = 8) => ({ name, type, size, flags: 3 });
  it.each([
    [".data", "data"], [".data.custom", "data"], [".rodata", "rodata"], [".rodata.str1.1", "rodata"], [".metadata", "rodata"],
    [".addr_space.1", "arena"], [".arena.1", "arena"], [".maps", undefined], ["license", undefined], [".text", undefined],
  ])("%s is %s", (name, kind) => {
    expect(dataSectionKind(sec(name))).toBe(kind);
  });
  it("bss only as NOBITS, and nothing empty", () => {
    expect(dataSectionKind(sec(".bss", SectionType.NOBITS))).toBe("bss");
    expect(dataSectionKind(sec(".bss.x", SectionType.NOBITS))).toBe("bss");
    expect(dataSectionKind(sec(".data", SectionType.NOBITS))).toBeUndefined();
    expect(dataSectionKind(sec(".data", SectionType.PROGBITS, 0))).toBeUndefined();
  });
});

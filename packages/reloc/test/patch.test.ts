import { describe, expect, it } from "vitest";
import {
  collectRelocations, decodeInstructions, encodeInstructions, formatInstructions, ldImm64Value, linkProgram, patchMapIndexes,
  patchMapReferences, PseudoLd, type ProgramRelocation,
} from "@x/reloc";
import { fixtureBytes, I, parseObject, relocationError as err } from "./helpers.js";

const src = parseObject(fixtureBytes("globals.bpf.o"));
const relocs = collectRelocations(src);
const MAP_FDS: Record<string, number> = { counters: 3, table: 4 };
const DATA_FDS: Record<string, number> = { ".rodata": 5, ".data": 6, ".bss": 7, ".data.custom": 8, ".rodata.custom": 9, ".rodata.str1.1": 10 };
const fds = { map: (n: string) => MAP_FDS[n]!, data: (s: string) => DATA_FDS[s]! };

describe("patchMapReferences", () => {
  it("turns map references into BPF_PSEUDO_MAP_FD loads", () => {
    const p = linkProgram(src, "read_config", relocs);
    const out = patchMapReferences(p.insns, p.relocations, fds);
    expect(out[4]).toMatchObject({ code: 0x18, srcReg: PseudoLd.MAP_FD, imm: 3, dstReg: 1 });
    expect(out[5]!.imm).toBe(0);
    // cfg_limits is at .rodata+0x30
    expect(out[26]).toMatchObject({ srcReg: PseudoLd.MAP_VALUE, imm: 5 });
    expect(out[27]!.imm).toBe(0x30);
  });

  it("turns data references into BPF_PSEUDO_MAP_VALUE loads with the offset in the second slot", () => {
    const p = linkProgram(src, "update_state", relocs);
    const out = patchMapReferences(p.insns, p.relocations, fds);
    for (const r of p.relocations) {
      expect(out[r.insnIndex]).toMatchObject({ srcReg: PseudoLd.MAP_VALUE, imm: DATA_FDS[r.targetSection!] });
      expect(out[r.insnIndex + 1]!.imm).toBe(r.offset);
    }
    // static_bss: `r1 = 0x30 ll` against .bss -> fd 7, offset 0x30 (not 0x30 + 0x30)
    expect(out[30]).toMatchObject({ srcReg: 2, imm: 7 });
    expect(out[31]!.imm).toBe(0x30);
    expect(ldImm64Value(out, 30)).toBe((0x30n << 32n) | 7n);
    // the input is left alone
    expect(p.insns[30]).toMatchObject({ srcReg: 0, imm: 0x30 });
  });

  it("patches string literals and survives an encode/decode round trip", () => {
    const p = linkProgram(src, "strings", relocs);
    const out = decodeInstructions(encodeInstructions(patchMapReferences(p.insns, p.relocations, fds), true), true);
    expect(out[12]).toMatchObject({ srcReg: 1, imm: 4 });
    expect(out[20]).toMatchObject({ srcReg: 2, imm: 5 });
    expect(out[21]!.imm).toBe(0x60);
    expect(out[25]).toMatchObject({ srcReg: 2, imm: 10 });
    expect(out[26]!.imm).toBe(0);
    expect(formatInstructions(out)).toContain("20: r1 = map_value(fd 5+96) ll");
    expect(formatInstructions(p.insns, p.relocations)).toContain("25: r1 = map_value(.rodata.str1.1+0) ll");
  });

  it("is idempotent (offsets come from the relocation, not the current imm)", () => {
    const p = linkProgram(src, "update_state", relocs);
    const once = patchMapReferences(p.insns, p.relocations, fds);
    expect(patchMapReferences(once, p.relocations, fds)).toEqual(once);
  });

  it("ignores subprogram and extern relocations", () => {
    const tc = decodeInstructions(src.sections.find((s) => s.name === "tc")!.data, true);
    const calls = relocs.get("tc")!.filter((r) => r.kind === "subprog-call");
    expect(patchMapReferences(tc, calls, fds)).toEqual(tc);
  });

  it("reports bad input with typed errors", () => {
    const base: ProgramRelocation = { kind: "data", insnIndex: 0, section: "tc", program: "p", symbol: "x", symbolIndex: 1, targetSection: ".data", offset: 4 };
    const insns = [...I.ld64(1), I.exit()];
    expect(err(() => patchMapReferences(insns, [{ ...base, insnIndex: 2 }], fds)).code).toBe("RELOC_INSN_OUT_OF_RANGE");
    expect(err(() => patchMapReferences(insns, [{ ...base, insnIndex: 1 }], fds)).code).toBe("RELOC_BAD_INSN");
    expect(err(() => patchMapReferences([I.ld64(1)[0]!], [base], fds)).code).toBe("RELOC_INSN_OUT_OF_RANGE");
    const e = err(() => patchMapReferences(insns, [{ ...base, targetSection: ".bss.nope" }], fds));
    expect(e.code).toBe("RELOC_BAD_REFERENCE");
    expect(e.message).toContain(".bss.nope");
  });
});

describe("patchMapIndexes", () => {
  it("uses BPF_PSEUDO_MAP_IDX and BPF_PSEUDO_MAP_IDX_VALUE for loader programs", () => {
    const p = linkProgram(src, "strings", relocs);
    const idx = { map: (n: string) => ["counters", "table"].indexOf(n), data: (s: string) => 2 + Object.keys(DATA_FDS).indexOf(s) };
    const out = patchMapIndexes(p.insns, p.relocations, idx);
    expect(out[12]).toMatchObject({ srcReg: PseudoLd.MAP_IDX, imm: 1 });
    expect(out[13]!.imm).toBe(0);
    expect(out[20]).toMatchObject({ srcReg: PseudoLd.MAP_IDX_VALUE, imm: 2 });
    expect(out[21]!.imm).toBe(0x60);
    expect(formatInstructions(out)).toContain("12: r1 = map_idx(1) ll");
  });
});

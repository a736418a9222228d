import { describe, expect, it } from "vitest";
import { SymbolType } from "@x/elf";
import { collectRelocations, findPrograms, linkProgram, patchMapReferences } from "@x/reloc";
import { craft, fixtureBytes, I, parseObject, readElfForTests } from "./helpers.js";

const FIXTURES = ["globals.bpf.o", "example.bpf.o", "sections.bpf.o", "big.bpf.o", "sk_lookup.bpf.o"];

describe("input sources", () => {
  it("ElfFile.parse of @x/elf and the test reader give the same results", () => {
    for (const name of FIXTURES) {
      const a = parseObject(fixtureBytes(name));
      const b = readElfForTests(fixtureBytes(name));
      expect(findPrograms(a)).toEqual(findPrograms(b));
      expect(collectRelocations(a)).toEqual(collectRelocations(b));
    }
  });

  it("handles big-endian objects (register nibbles swapped)", () => {
    const spec = (littleEndian: boolean) =>
      craft({
        littleEndian,
        sections: [
          { name: ".text", insns: [I.ldxw(0, 1, 4), I.exit()] },
          { name: "tc", insns: [...I.ld64(3), I.call(-1, 1), I.exit()] },
          { name: ".data" },
        ],
        symbols: [
          { name: "sub", section: ".text", size: 16, type: SymbolType.FUNC },
          { name: "prog", section: "tc", size: 32, type: SymbolType.FUNC },
          { name: "x", section: ".data", value: 4 },
        ],
        relocs: [{ section: "tc", offset: 0, symbol: "x" }, { section: "tc", offset: 16, symbol: "sub" }],
      });
    const le = spec(true);
    const be = spec(false);
    expect(be.sections[2]!.data).not.toEqual(le.sections[2]!.data);
    expect(collectRelocations(be)).toEqual(collectRelocations(le));
    const lbe = linkProgram(be, "prog");
    expect(lbe).toEqual(linkProgram(le, "prog"));
    const out = patchMapReferences(lbe.insns, lbe.relocations, { map: () => -1, data: () => 9 });
    expect(out[0]).toMatchObject({ dstReg: 3, srcReg: 2, imm: 9 });
    expect(out[1]!.imm).toBe(4);
    expect(out[4]).toMatchObject({ dstReg: 0, srcReg: 1, off: 4 });
  });
});

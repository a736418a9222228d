// Conformance: every fixture (and a big-endian build of every fixture source) parses to exactly
// what llvm-readelf-19 reports for sections, symbols and relocations.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ElfFile, Machine, SectionType } from "@x/elf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, fixture, fixtureNames, fixturePath, hasClang, hasReadelf, readelf } from "./helpers.js";

function expectMatchesReadelf(file: ElfFile, path: string): void {
  const ref = readelf(path);

  expect(file.sections.map((s) => s.index)).toEqual(ref.Sections.map((s) => s.Section.Index));
  expect(
    file.sections.map((s) => ({ name: s.name, type: s.type, flags: s.flags, offset: s.offset, size: s.size, link: s.link, info: s.info, addralign: s.addralign, entsize: s.entsize })),
  ).toEqual(
    ref.Sections.map(({ Section: s }) => ({
      name: s.Name.Name, type: s.Type.Value, flags: s.Flags.Value, offset: s.Offset, size: s.Size, link: s.Link, info: s.Info, addralign: s.AddressAlignment, entsize: s.EntrySize,
    })),
  );
  for (const s of file.sections) {
    expect(s.data.byteLength).toBe(s.type === SectionType.NOBITS || s.type === SectionType.NULL ? 0 : s.size);
  }

  const refSyms = ref.Symbols ?? [];
  expect(file.symbols.map((s) => ({ name: s.name, value: s.value, size: s.size, type: s.type, binding: s.binding, visibility: s.visibility, ndx: s.sectionIndex }))).toEqual(
    refSyms.map(({ Symbol: s }) => ({
      // readelf shows a section symbol's section name; the raw st_name of those is 0 (empty).
      name: s.Name.Value === 0 ? "" : s.Name.Name,
      value: s.Value, size: s.Size, type: s.Type.Value, binding: s.Binding.Value, visibility: s.Other.Value & 3, ndx: s.Section.Value,
    })),
  );
  expect(file.symbols.every((s, i) => s.index === i)).toBe(true);

  const refRelocs = new Map((ref.Relocations ?? []).map((r) => [r.SectionIndex, r.Relocs]));
  expect(file.relocations.map((r) => r.section.index)).toEqual([...refRelocs.keys()]);
  for (const r of file.relocations) {
    expect(r.target.index).toBe(r.section.info);
    expect(r.entries.map((e) => ({ offset: e.offset, type: e.type, sym: e.symbolIndex }))).toEqual(
      refRelocs.get(r.section.index)!.map(({ Relocation: x }) => ({ offset: x.Offset, type: x.Type.Value, sym: x.Symbol.Value })),
    );
  }
}

describe.skipIf(!hasReadelf && !process.env.CI)("fixtures match llvm-readelf-19", () => {
  it.each(fixtureNames)("%s", (name) => {
    const file = ElfFile.parse(fixture(name));
    expect(file.littleEndian).toBe(true);
    expect(file.machine).toBe(Machine.BPF);
    expect(file.fileType).toBe(1);
    expectMatchesReadelf(file, fixturePath(name));
  });
});

describe("lookups", () => {
  const file = ElfFile.parse(fixture("globals.bpf.o"));

  it("finds sections by name and index", () => {
    const data = file.section(".data")!;
    expect(data.name).toBe(".data");
    expect(file.sectionAt(data.index)).toBe(data);
    expect(file.section("no such section")).toBeUndefined();
    expect(file.sectionAt(0).type).toBe(SectionType.NULL);
    expect(file.header.sectionCount).toBe(file.sections.length);
    expect(file.sections[file.header.sectionNameTableIndex]!.type).toBe(SectionType.STRTAB);
  });

  it("finds symbols by name and by section", () => {
    const counters = file.symbol("counters")!;
    expect(counters.sectionIndex).toBe(file.section(".maps")!.index);
    expect(file.symbolsIn(counters.sectionIndex)).toContain(counters);
    expect(file.symbolsIn(file.section(".data")!.index).map((s) => s.name)).toEqual(expect.arrayContaining(["data_counter", "data_array"]));
    expect(file.symbol("")).toBeUndefined();
    expect(file.symbolsIn(9999)).toEqual([]);
    expect(file.symbolTable!.type).toBe(SectionType.SYMTAB);
  });

  it("groups relocations by target section", () => {
    const tc = file.section("tc")!;
    const [rel, ...rest] = file.relocationsFor(tc);
    expect(rest).toEqual([]);
    expect(rel!.section.name).toBe(".reltc");
    expect(rel!.target).toBe(tc);
    expect(file.relocationsFor(tc.index)).toEqual([rel]);
    expect(rel!.entries.every((e) => e.addend === undefined)).toBe(true);
    const counters = file.symbol("counters")!;
    expect(rel!.entries[0]).toEqual({ offset: 0x20, symbolIndex: counters.index, type: 1 });
    expect(file.relocationsFor(file.section(".data")!)).toEqual([]);
  });

  it("returns the same decoded objects on every access", () => {
    expect(file.symbols).toBe(file.symbols);
    expect(file.relocations).toBe(file.relocations);
    expect(file.relocationsFor(file.section("tc")!)[0]).toBe(file.relocations.find((r) => r.target.name === "tc"));
  });

  it("views the input without copying, even inside a larger buffer", () => {
    const raw = fixture("globals.bpf.o");
    const padded = new Uint8Array(raw.byteLength + 100);
    padded.set(raw, 37);
    const inner = padded.subarray(37, 37 + raw.byteLength);
    const f = ElfFile.parse(inner);
    const text = f.section("tc")!;
    expect(text.data.buffer).toBe(padded.buffer);
    expect(text.data.byteOffset).toBe(37 + text.offset);
    expect(Array.from(text.data)).toEqual(Array.from(raw.subarray(text.offset, text.offset + text.size)));
    expect(f.symbols.length).toBe(ElfFile.parse(raw).symbols.length);
  });
});

describe.skipIf((!hasClang || !hasReadelf) && !process.env.CI)("big-endian objects (clang -target bpfeb)", () => {
  let dir = "";
  const sources = fixtureNames.map((n) => n.replace(/\.o$/, ".c"));
  const build = (src: string, target: string) => {
    const out = join(dir, `${basename(src, ".c")}.${target}.o`);
    execFileSync("clang-19", ["-O2", "-g", "-target", target, "-I/usr/include/x86_64-linux-gnu", "-c", `${FIXTURES}src/${src}`, "-o", out]);
    return out;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "x-elf-bpfeb-"));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(sources)("%s", (src) => {
    const bePath = build(src, "bpfeb");
    const lePath = build(src, "bpfel");
    const be = ElfFile.parse(new Uint8Array(readFileSync(bePath)));
    const le = ElfFile.parse(new Uint8Array(readFileSync(lePath)));
    expect(be.littleEndian).toBe(false);
    expect(be.machine).toBe(Machine.BPF);
    expectMatchesReadelf(be, bePath);
    // Code generation differs between byte orders (sizes, relocation offsets), so compare structure, not bytes.
    expect(be.sections.map((s) => [s.name, s.type])).toEqual(le.sections.map((s) => [s.name, s.type]));
    expect(be.symbols.map((s) => [s.name, s.type, s.binding])).toEqual(le.symbols.map((s) => [s.name, s.type, s.binding]));
    expect(be.relocations.map((r) => [r.section.name, r.target.name])).toEqual(le.relocations.map((r) => [r.section.name, r.target.name]));
    // Not every fixture has a license (core-target.bpf.c is only a BTF carrier).
    expect(be.section("license")?.data).toEqual(le.section("license")?.data);
  });
});

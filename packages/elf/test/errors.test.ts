// Malformed and unsupported inputs: each is refused with a typed ElfError whose code is stable
// and whose message says what was expected, what was found, and where.
import { existsSync, readFileSync } from "node:fs";
import { ElfError, ElfFile, Elf64_Ehdr, Elf64_Rela, Elf64_Shdr, Elf64_Sym, Machine, SectionIndex, SectionType } from "@x/elf";
import { describe, expect, it } from "vitest";
import { expectElfError, fixture, parseFully, patchEhdr, patchRel, patchShdr, patchSym, readShdr } from "./helpers.js";

const NAME = "globals.bpf.o";
const base = () => fixture(NAME);
const parsed = ElfFile.parse(base());
const idx = (name: string) => parsed.section(name)!.index;

describe("file header", () => {
  it("refuses empty input", () => {
    const e = expectElfError(() => ElfFile.parse(new Uint8Array(0)), "ELF_TRUNCATED");
    expect(e.message).toMatch(/empty input/);
  });

  it("refuses a header cut short", () => {
    for (const n of [1, 3, 4, 16, 40, 63]) expectElfError(() => ElfFile.parse(base().subarray(0, n)), "ELF_TRUNCATED");
  });

  it("refuses garbage and other formats by magic", () => {
    const garbage = [new TextEncoder().encode("hello, world! this is not an ELF object at all ............"), new Uint8Array(128).fill(0xff), new Uint8Array([0x4d, 0x5a, 0x90, 0x00])];
    for (const g of garbage) {
      const e = expectElfError(() => ElfFile.parse(g), "ELF_BAD_MAGIC");
      expect(e.location.offset).toBe(0);
      expect(e.message).toMatch(/expected magic 7f 45 4c 46/);
    }
    expectElfError(() => ElfFile.parse(new Uint8Array([0x7f, 0x45, 0x00])), "ELF_BAD_MAGIC");
  });

  it("refuses 32-bit objects clearly, even when shorter than an ELF64 header", () => {
    const e = expectElfError(() => ElfFile.parse(patchEhdr(base(), { ei_class: 1 })), "ELF_NOT_64BIT");
    expect(e.message).toMatch(/ELFCLASS32/);
    expectElfError(() => ElfFile.parse(patchEhdr(base(), { ei_class: 1 }).subarray(0, 52)), "ELF_NOT_64BIT");
    expectElfError(() => ElfFile.parse(patchEhdr(base(), { ei_class: 7 })), "ELF_NOT_64BIT");
  });

  it("refuses a bad EI_DATA or EI_VERSION", () => {
    expect(expectElfError(() => ElfFile.parse(patchEhdr(base(), { ei_data: 3 })), "ELF_BAD_HEADER").message).toMatch(/EI_DATA/);
    expect(expectElfError(() => ElfFile.parse(patchEhdr(base(), { ei_version: 0 })), "ELF_BAD_HEADER").message).toMatch(/EI_VERSION/);
  });

  it("refuses wrong machines, naming them", () => {
    const x86 = expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_machine: 62 })), "ELF_WRONG_MACHINE");
    expect(x86.message).toMatch(/found 62 \(EM_X86_64 \(x86-64\)\)/);
    expect(x86.location.offset).toBe(Elf64_Ehdr.field("e_machine").offset);
    expect(expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_machine: 183 })), "ELF_WRONG_MACHINE").message).toMatch(/183.*aarch64/);
    expect(expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_machine: 4242 })), "ELF_WRONG_MACHINE").message).toMatch(/4242/);
  });

  it("accepts EM_NONE like libbpf", () => {
    expect(parseFully(patchEhdr(base(), { e_machine: Machine.NONE })).machine).toBe(Machine.NONE);
  });

  it("refuses non-relocatable files", () => {
    expect(expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_type: 3 })), "ELF_NOT_RELOCATABLE").message).toMatch(/ET_DYN/);
    if (existsSync("/bin/true")) {
      const e = expectElfError(() => ElfFile.parse(new Uint8Array(readFileSync("/bin/true"))), "ELF_NOT_RELOCATABLE");
      expect(e.message).toMatch(/expected 1 \(ET_REL/);
    }
  });

  it("refuses wrong header and section header sizes", () => {
    expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_ehsize: 52 })), "ELF_BAD_HEADER");
    expect(expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_shentsize: 40 })), "ELF_BAD_HEADER").message).toMatch(/e_shentsize: expected 64/);
  });

  it("refuses e_shstrndx out of range or not a string table", () => {
    expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_shstrndx: 0 })), "ELF_BAD_HEADER");
    expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_shstrndx: parsed.sections.length })), "ELF_BAD_HEADER");
    expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_shstrndx: 0xff05 })), "ELF_BAD_HEADER");
    const e = expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_shstrndx: idx(".text") })), "ELF_BAD_SECTION");
    expect(e.message).toMatch(/SHT_STRTAB/);
  });

  it("refuses a section header table beyond the end of the file", () => {
    const bytes = base();
    expectElfError(() => ElfFile.parse(patchEhdr(bytes.slice(), { e_shoff: BigInt(bytes.length) })), "ELF_TRUNCATED");
    expectElfError(() => ElfFile.parse(patchEhdr(bytes.slice(), { e_shoff: 1n << 62n })), "ELF_TRUNCATED");
    const e = expectElfError(() => ElfFile.parse(patchEhdr(bytes.slice(), { e_shnum: 0xfeff })), "ELF_TRUNCATED");
    expect(e.message).toMatch(/expected 65279 headers/);
  });

  it("accepts an object without a section header table, but not a dangling count", () => {
    const none = patchEhdr(base(), { e_shoff: 0n, e_shnum: 0, e_shstrndx: 0 });
    const f = parseFully(none);
    expect(f.sections).toEqual([]);
    expect(f.symbols).toEqual([]);
    expectElfError(() => ElfFile.parse(patchEhdr(base(), { e_shoff: 0n })), "ELF_BAD_HEADER");
  });

  it("resolves SHN_XINDEX escapes through section 0 (e_shnum == 0, e_shstrndx == SHN_XINDEX)", () => {
    const bytes = base();
    const n = parsed.sections.length;
    patchEhdr(bytes, { e_shnum: 0, e_shstrndx: SectionIndex.XINDEX });
    patchShdr(bytes, 0, { sh_size: BigInt(n), sh_link: parsed.header.sectionNameTableIndex });
    const f = parseFully(bytes);
    expect(f.sections.map((s) => s.name)).toEqual(parsed.sections.map((s) => s.name));
    expect(f.header.sectionCount).toBe(n);
    expect(f.symbols.length).toBe(parsed.symbols.length);
    // Both escapes empty: there is no way to know the count.
    expectElfError(() => ElfFile.parse(patchShdr(bytes.slice(), 0, { sh_size: 0n })), "ELF_BAD_HEADER");
  });
});

describe("sections", () => {
  it("refuses section data that lies outside the file", () => {
    const text = idx("tc");
    const big = expectElfError(() => ElfFile.parse(patchShdr(base(), text, { sh_size: 1n << 20n })), "ELF_BAD_SECTION");
    expect(big.location.section).toBe(`#${text}`);
    expect(big.message).toMatch(/inside the file, but the file is 21520 bytes/);
    expectElfError(() => ElfFile.parse(patchShdr(base(), text, { sh_offset: 1n << 40n })), "ELF_BAD_SECTION");
    // offset + size would wrap around in 64 bits; must still be refused.
    expectElfError(() => ElfFile.parse(patchShdr(base(), text, { sh_offset: 16n, sh_size: (1n << 64n) - 8n })), "ELF_BAD_SECTION");
  });

  it("allows NOBITS sizes beyond the file (they occupy no file bytes)", () => {
    const f = parseFully(patchShdr(base(), idx(".bss"), { sh_size: 1n << 40n }));
    expect(f.section(".bss")!.size).toBe(2 ** 40);
    expect(f.section(".bss")!.data.byteLength).toBe(0);
  });

  it("refuses section name offsets outside the name table", () => {
    const e = expectElfError(() => ElfFile.parse(patchShdr(base(), idx(".data"), { sh_name: 0x7fffffff })), "ELF_BAD_STRING");
    expect(e.message).toMatch(/sh_name: expected an offset inside string table/);
    expect(e.location.section).toBe(`#${idx(".data")}`);
  });

  it("refuses unterminated section names", () => {
    // Cut the name table one byte into the name stored last in it.
    const last = parsed.sections.reduce((a, s) => (readShdr(base(), s.index).sh_name > readShdr(base(), a.index).sh_name ? s : a));
    const nameOffset = readShdr(base(), last.index).sh_name;
    const bytes = patchShdr(base(), parsed.header.sectionNameTableIndex, { sh_size: BigInt(nameOffset + 1) });
    expect(expectElfError(() => ElfFile.parse(bytes), "ELF_BAD_STRING").message).toMatch(/not NUL-terminated/);
  });

  it("throws ELF_SECTION_NOT_FOUND for bad indexes", () => {
    for (const i of [-1, parsed.sections.length, 1.5, Number.NaN]) expectElfError(() => parsed.sectionAt(i), "ELF_SECTION_NOT_FOUND");
    expectElfError(() => parsed.relocationsFor(999), "ELF_SECTION_NOT_FOUND");
  });
});

describe("symbol table", () => {
  const symtab = () => parsed.symbolTable!.index;

  it("refuses a wrong entry size or a size that is not a multiple of it", () => {
    expect(expectElfError(() => ElfFile.parse(patchShdr(base(), symtab(), { sh_entsize: 16n })), "ELF_BAD_SYMTAB").message).toMatch(/sh_entsize: expected 24/);
    expectElfError(() => ElfFile.parse(patchShdr(base(), symtab(), { sh_size: BigInt(parsed.symbolTable!.size - 1) })), "ELF_BAD_SYMTAB");
  });

  it("refuses more than one SYMTAB", () => {
    const e = expectElfError(() => ElfFile.parse(patchShdr(base(), idx(".llvm_addrsig"), { sh_type: SectionType.SYMTAB })), "ELF_BAD_SYMTAB");
    expect(e.message).toMatch(/expected a single SHT_SYMTAB, found 2/);
  });

  it("refuses a symtab whose string table link is bad", () => {
    expectElfError(() => ElfFile.parse(patchShdr(base(), symtab(), { sh_link: 0 })), "ELF_BAD_SYMTAB");
    expectElfError(() => ElfFile.parse(patchShdr(base(), symtab(), { sh_link: 999 })), "ELF_BAD_SYMTAB");
    expectElfError(() => ElfFile.parse(patchShdr(base(), symtab(), { sh_link: idx(".text") })), "ELF_BAD_SYMTAB");
    expectElfError(() => ElfFile.parse(patchShdr(base(), symtab(), { sh_info: 9999 })), "ELF_BAD_SYMTAB");
  });

  it("refuses symbol names outside the string table, when symbols are decoded", () => {
    const i = parsed.symbol("counters")!.index;
    const f = ElfFile.parse(patchSym(base(), i, { st_name: 0x7ffffff0 }));
    const e = expectElfError(() => f.symbols, "ELF_BAD_STRING");
    expect(e.message).toMatch(new RegExp(`symbol #${i} st_name: expected an offset inside string table \\.strtab`));
    expect(e.location.section).toBe(".symtab");
    expect(e.location.offset).toBe(parsed.symbolTable!.offset + i * Elf64_Sym.size);
    expectElfError(() => f.validate(), "ELF_BAD_STRING");
  });

  it("refuses symbols in sections that do not exist, but keeps SHN_ABS/SHN_COMMON", () => {
    const i = parsed.symbol("counters")!.index;
    expectElfError(() => ElfFile.parse(patchSym(base(), i, { st_shndx: 500 })).symbols, "ELF_BAD_SYMTAB");
    expectElfError(() => ElfFile.parse(patchSym(base(), i, { st_shndx: SectionIndex.XINDEX })).symbols, "ELF_BAD_SYMTAB");
    expect(ElfFile.parse(patchSym(base(), i, { st_shndx: SectionIndex.COMMON })).symbol("counters")!.sectionIndex).toBe(SectionIndex.COMMON);
  });

  it("refuses values that do not fit a double exactly", () => {
    const i = parsed.symbol("counters")!.index;
    expectElfError(() => ElfFile.parse(patchSym(base(), i, { st_value: 1n << 60n })).symbols, "ELF_BAD_SYMTAB");
  });
});

describe("relocations", () => {
  const reltc = () => idx(".reltc");

  it("refuses a relocation naming a symbol that does not exist", () => {
    const f = ElfFile.parse(patchRel(base(), ".reltc", 0, { r_info: (9999n << 32n) | 1n }));
    const e = expectElfError(() => f.relocations, "ELF_BAD_RELOCATION");
    expect(e.message).toMatch(/relocation #0: expected a symbol index below \d+ \(the symbol table size\), found 9999/);
    expect(e.location.section).toBe(".reltc");
    expect(e.location.offset).toBe(parsed.section(".reltc")!.offset);
    expectElfError(() => f.relocationsFor(f.section("tc")!), "ELF_BAD_RELOCATION");
    // Other sections' relocations are still readable: decoding is per section.
    expect(f.relocationsFor(f.section("socket")!)[0]!.entries.length).toBe(6);
  });

  it("refuses a relocation offset outside its target section", () => {
    const f = ElfFile.parse(patchRel(base(), ".reltc", 1, { r_offset: 1n << 20n }));
    expect(expectElfError(() => f.relocations, "ELF_BAD_RELOCATION").message).toMatch(/r_offset: expected an offset inside tc/);
  });

  it("refuses bad links, targets and entry sizes at parse time", () => {
    expect(expectElfError(() => ElfFile.parse(patchShdr(base(), reltc(), { sh_link: 1 })), "ELF_BAD_RELOCATION").message).toMatch(/sh_link/);
    expect(expectElfError(() => ElfFile.parse(patchShdr(base(), reltc(), { sh_info: 0 })), "ELF_BAD_RELOCATION").message).toMatch(/sh_info/);
    expectElfError(() => ElfFile.parse(patchShdr(base(), reltc(), { sh_info: 4000 })), "ELF_BAD_RELOCATION");
    expectElfError(() => ElfFile.parse(patchShdr(base(), reltc(), { sh_entsize: 24n })), "ELF_BAD_RELOCATION");
    expectElfError(() => ElfFile.parse(patchShdr(base(), reltc(), { sh_size: 17n })), "ELF_BAD_RELOCATION");
  });

  it("decodes RELA addends as signed bigints", () => {
    // Rewrite .reltc in place as RELA: its 288 bytes hold 12 Elf64_Rela entries (the first 12 relocations).
    const s = parsed.section(".reltc")!;
    const orig = parsed.relocationsFor(parsed.section("tc")!)[0]!.entries;
    const bytes = patchShdr(base(), s.index, { sh_type: SectionType.RELA, sh_entsize: BigInt(Elf64_Rela.size) });
    const count = s.size / Elf64_Rela.size;
    for (let i = 0; i < count; i++) {
      const e = orig[i]!;
      Elf64_Rela.write(bytes, s.offset + i * Elf64_Rela.size, { r_offset: BigInt(e.offset), r_info: (BigInt(e.symbolIndex) << 32n) | BigInt(e.type), r_addend: BigInt(i) - 8n }, true);
    }
    const f = ElfFile.parse(bytes);
    const [rela] = f.relocationsFor(f.section("tc")!);
    expect(rela!.section.type).toBe(SectionType.RELA);
    expect(rela!.entries).toEqual(orig.slice(0, count).map((e, i) => ({ ...e, addend: BigInt(i) - 8n })));
  });
});

describe("ElfError", () => {
  it("is an Error with a stable code, offset and section", () => {
    const e = expectElfError(() => ElfFile.parse(patchShdr(base(), idx("tc"), { sh_size: 1n << 30n })), "ELF_BAD_SECTION");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("ElfError");
    expect(e.location.offset).toBe(Number(parsed.header.sectionHeaderOffset) + idx("tc") * Elf64_Shdr.size);
    expect(e.message).toMatch(/\(section #\d+, file offset 0x[0-9a-f]+\)$/);
    expect(e instanceof ElfError).toBe(true);
  });
});

/**
 * Symbol table location (eager, cheap header checks) and decoding (lazy, per entry).
 * Like libbpf, an object may have at most one SHT_SYMTAB.
 */
import { readRecord, toSafeNumber } from "./checked.js";
import { ElfError, hex, sectionLabel } from "./errors.js";
import { ElfConst, Elf64_Sym, Elf64_Word } from "./records.js";
import { readCString } from "./layout.js";
import { readString } from "./strings.js";
import { SectionIndex, SectionType, type ElfSection, type ElfSymbol } from "./types.js";

/** The validated symbol table and the sections it depends on. */
export interface SymbolTableInfo {
  readonly section: ElfSection;
  /** The string table holding symbol names (the symtab's sh_link). */
  readonly strings: ElfSection;
  /** Number of entries, including the null symbol 0. */
  readonly count: number;
  /** SHT_SYMTAB_SHNDX section for symbols whose st_shndx is SHN_XINDEX, if any. */
  readonly extendedIndexes?: ElfSection;
}

const label = (s: ElfSection) => sectionLabel(s.index, s.name);

function bad(section: ElfSection, message: string): ElfError {
  return new ElfError("ELF_BAD_SYMTAB", `symbol table ${label(section)}: ${message}`, { section: label(section), offset: section.offset });
}

/** Find the single SHT_SYMTAB and check its geometry and links. Returns undefined when there is none. */
export function locateSymbolTable(sections: readonly ElfSection[]): SymbolTableInfo | undefined {
  const tables = sections.filter((s) => s.type === SectionType.SYMTAB);
  if (tables.length === 0) return undefined;
  const section = tables[0]!;
  if (tables.length > 1) {
    throw bad(tables[1]!, `expected a single SHT_SYMTAB, found ${tables.length} (${tables.map(label).join(", ")})`);
  }
  if (section.entsize !== Elf64_Sym.size) throw bad(section, `sh_entsize: expected ${Elf64_Sym.size} (sizeof Elf64_Sym), found ${section.entsize}`);
  if (section.size % Elf64_Sym.size !== 0) throw bad(section, `sh_size ${section.size} is not a multiple of ${Elf64_Sym.size}`);
  const count = section.size / Elf64_Sym.size;
  const strings = sections[section.link];
  if (section.link === 0 || strings === undefined || strings.type !== SectionType.STRTAB) {
    throw bad(section, `sh_link: expected the index of its SHT_STRTAB, found ${section.link}` + (strings ? ` (type ${strings.type})` : " (no such section)"));
  }
  if (section.info > count) throw bad(section, `sh_info (first non-local symbol) is ${section.info}, but the table has only ${count} entries`);

  const shndx = sections.find((s) => s.type === ElfConst.SHT_SYMTAB_SHNDX && s.link === section.index);
  if (shndx && (shndx.size < count * Elf64_Word.size || (shndx.entsize !== 0 && shndx.entsize !== Elf64_Word.size))) {
    throw bad(shndx, `SHT_SYMTAB_SHNDX: expected ${count} entries of ${Elf64_Word.size} bytes, found ${shndx.size} bytes (sh_entsize ${shndx.entsize})`);
  }
  return shndx ? { section, strings, count, extendedIndexes: shndx } : { section, strings, count };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Decode every entry of the symbol table. `sectionCount` bounds st_shndx. */
export function decodeSymbols(info: SymbolTableInfo, sectionCount: number, le: boolean): ElfSymbol[] {
  const { section, count } = info;
  const secLabel = label(section);
  const table = { data: info.strings.data, label: label(info.strings) };
  const out: ElfSymbol[] = new Array(count);
  // Messages and locations are built only for a bad entry: this runs for every symbol of every open.
  const where = (i: number) => ({ section: secLabel, offset: section.offset + i * Elf64_Sym.size });
  const num = (v: bigint, i: number, field: string) => (v <= MAX_SAFE ? Number(v) : toSafeNumber(v, "ELF_BAD_SYMTAB", `symbol #${i} ${field}`, where(i)));
  for (let i = 0; i < count; i++) {
    const at = i * Elf64_Sym.size;
    const sym = Elf64_Sym.fits(section.data, at)
      ? Elf64_Sym.read(section.data, at, le)
      : readRecord(Elf64_Sym, section.data, at, le, { what: `symbol #${i}`, base: section.offset, section: secLabel, code: "ELF_BAD_SYMTAB" });
    // Reserved indexes (SHN_ABS, SHN_COMMON, ...) are kept as they are; real ones must name a section.
    const extended = sym.st_shndx === SectionIndex.XINDEX;
    const sectionIndex = extended ? extendedIndex(info, i, le, where(i)) : sym.st_shndx;
    if ((extended || sectionIndex < SectionIndex.LORESERVE) && sectionIndex >= sectionCount) {
      throw new ElfError("ELF_BAD_SYMTAB", `symbol #${i} st_shndx: expected a section index below ${sectionCount}, found ${sectionIndex}`, where(i));
    }
    out[i] = {
      index: i,
      name: sym.st_name === 0 ? "" : (readCString(table.data, sym.st_name) ?? readString(table, sym.st_name, `symbol #${i} st_name`, where(i))),
      value: num(sym.st_value, i, "st_value"),
      size: num(sym.st_size, i, "st_size"),
      type: sym.st_info & 0xf,
      binding: sym.st_info >> 4,
      visibility: sym.st_other & 0x3,
      sectionIndex,
    };
  }
  return out;
}

function extendedIndex(info: SymbolTableInfo, i: number, le: boolean, where: { section: string; offset: number }): number {
  const table = info.extendedIndexes;
  if (!table) {
    throw new ElfError("ELF_BAD_SYMTAB", `symbol #${i} st_shndx is SHN_XINDEX (${hex(SectionIndex.XINDEX)}), but there is no SHT_SYMTAB_SHNDX section`, where);
  }
  return readRecord(Elf64_Word, table.data, i * Elf64_Word.size, le, {
    what: `SHT_SYMTAB_SHNDX entry #${i}`, base: table.offset, section: label(table), code: "ELF_BAD_SYMTAB",
  }).value;
}

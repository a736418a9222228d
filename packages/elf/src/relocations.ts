/**
 * REL/RELA sections: eager checks of their headers (entry size, symbol table link,
 * target section) and lazy decoding of their entries.
 */
import { readRecord, toSafeNumber } from "./checked.js";
import { ElfError, sectionLabel } from "./errors.js";
import { Elf64_Rel, Elf64_Rela } from "./records.js";
import type { SymbolTableInfo } from "./symbols.js";
import { SectionType, type ElfRelocation, type ElfSection } from "./types.js";

/** A REL/RELA section whose header has been validated. */
export interface RelocationSectionInfo {
  readonly section: ElfSection;
  readonly target: ElfSection;
  /** Whether entries carry an explicit addend (SHT_RELA). */
  readonly rela: boolean;
}

const label = (s: ElfSection) => sectionLabel(s.index, s.name);

function bad(section: ElfSection, message: string, offset = section.offset): ElfError {
  return new ElfError("ELF_BAD_RELOCATION", `relocation section ${label(section)}: ${message}`, { section: label(section), offset });
}

/** Whether `section` holds relocations. */
export function isRelocationSection(section: ElfSection): boolean {
  return section.type === SectionType.REL || section.type === SectionType.RELA;
}

/** Check a REL/RELA section header against the section table and the (single) symbol table. */
export function checkRelocationSection(section: ElfSection, sections: readonly ElfSection[], symtab: SymbolTableInfo | undefined): RelocationSectionInfo {
  const rela = section.type === SectionType.RELA;
  const layout = rela ? Elf64_Rela : Elf64_Rel;
  if (section.entsize !== layout.size) throw bad(section, `sh_entsize: expected ${layout.size} (sizeof ${layout.name}), found ${section.entsize}`);
  if (section.size % layout.size !== 0) throw bad(section, `sh_size ${section.size} is not a multiple of ${layout.size}`);
  if (!symtab || section.link !== symtab.section.index) {
    const expected = symtab ? `${symtab.section.index} (${label(symtab.section)})` : "a symbol table, but the object has none";
    throw bad(section, `sh_link: expected the symbol table index ${expected}, found ${section.link}`);
  }
  const target = sections[section.info];
  if (section.info === 0 || target === undefined) {
    throw bad(section, `sh_info: expected the index of the section to relocate (1..${sections.length - 1}), found ${section.info}`);
  }
  return { section, target, rela };
}

/** Decode all entries of a checked relocation section. `symbolCount` bounds symbol indexes. */
export function decodeRelocations(info: RelocationSectionInfo, symbolCount: number, le: boolean): ElfRelocation[] {
  const { section, target, rela } = info;
  const layout = rela ? Elf64_Rela : Elf64_Rel;
  const secLabel = label(section);
  const count = section.size / layout.size;
  const out: ElfRelocation[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * layout.size;
    const offsetInFile = section.offset + at;
    const what = `relocation #${i}`;
    const site = { what, base: section.offset, section: secLabel, code: "ELF_BAD_RELOCATION" } as const;
    // Both layouts start with r_offset, r_info; only RELA has r_addend.
    const r: { r_offset: bigint; r_info: bigint; r_addend?: bigint } = readRecord(layout, section.data, at, le, site);
    const where = { section: secLabel, offset: offsetInFile };
    const offset = toSafeNumber(r.r_offset, "ELF_BAD_RELOCATION", `${what} r_offset`, where);
    if (offset >= target.size) {
      throw bad(section, `${what} r_offset: expected an offset inside ${label(target)} (${target.size} bytes), found ${offset}`, offsetInFile);
    }
    const symbolIndex = Number(r.r_info >> 32n);
    if (symbolIndex >= symbolCount) {
      throw bad(section, `${what}: expected a symbol index below ${symbolCount} (the symbol table size), found ${symbolIndex}`, offsetInFile);
    }
    const type = Number(r.r_info & 0xffffffffn);
    out[i] = rela ? { offset, symbolIndex, type, addend: r.r_addend ?? 0n } : { offset, symbolIndex, type };
  }
  return out;
}

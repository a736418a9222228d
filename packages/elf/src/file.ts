/**
 * `ElfFile`: a parsed ELF64 relocatable object (a BPF `.o`). Parsing validates the file
 * header and section table eagerly; symbols and relocation entries are decoded on first use.
 * Section data are views into the input, never copies.
 */
import { ElfError } from "./errors.js";
import { readHeader } from "./header.js";
import { LayoutBoundsError } from "./layout.js";
import { checkRelocationSection, decodeRelocations, isRelocationSection, type RelocationSectionInfo } from "./relocations.js";
import { readSectionTable } from "./sections.js";
import { decodeSymbols, locateSymbolTable, type SymbolTableInfo } from "./symbols.js";
import type { ElfRelocationSection, ElfSection, ElfSymbol } from "./types.js";
import { replaceSectionData } from "./writer.js";

/** File header fields of a parsed object (after SHN_XINDEX escapes are resolved). */
export interface ElfHeader {
  /** EI_DATA: true for ELFDATA2LSB. */
  readonly littleEndian: boolean;
  /** EI_OSABI. */
  readonly osabi: number;
  /** e_type (always ET_REL = 1 for a parsed file). */
  readonly fileType: number;
  /** e_machine (EM_BPF = 247 or EM_NONE = 0). */
  readonly machine: number;
  /** e_version. */
  readonly version: number;
  /** e_flags. */
  readonly flags: number;
  /** e_shoff: file offset of the section header table (0 when there is none). */
  readonly sectionHeaderOffset: number;
  /** Number of section headers (from e_shnum, or section 0's sh_size when e_shnum is 0). */
  readonly sectionCount: number;
  /** Index of the section name string table (from e_shstrndx, or section 0's sh_link for SHN_XINDEX). */
  readonly sectionNameTableIndex: number;
}

/**
 * Run `fn`, turning a LayoutBoundsError or RangeError that slipped past the explicit checks (a
 * layout or typed-array bound) into an ElfError, so callers only ever have to handle ElfError for bad input.
 */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof LayoutBoundsError) throw new ElfError("ELF_TRUNCATED", `malformed object: ${e.message}`, { offset: e.location.offset }, { cause: e });
    if (e instanceof ElfError || !(e instanceof RangeError)) throw e;
    throw new ElfError("ELF_MALFORMED", `malformed object: ${e.message}`, {}, { cause: e });
  }
}

/** A parsed ELF64 relocatable object. Create with {@link ElfFile.parse}. */
export class ElfFile {
  /** The input bytes as a plain Uint8Array view (not copied: mutating them changes `sections[i].data`). */
  readonly bytes: Uint8Array;
  /** Byte order of the object (EI_DATA). */
  readonly littleEndian: boolean;
  /** e_machine: {@link Machine.BPF} or {@link Machine.NONE}. */
  readonly machine: number;
  /** e_type: always 1 (ET_REL). */
  readonly fileType: number;
  /** Decoded file header. */
  readonly header: ElfHeader;
  /** All sections in header table order; `sections[i].index === i`, section 0 is the null section. */
  readonly sections: readonly ElfSection[];

  readonly #symtab: SymbolTableInfo | undefined;
  readonly #relocInfo: readonly RelocationSectionInfo[];
  #symbols: readonly ElfSymbol[] | undefined;
  #symbolsByName: Map<string, ElfSymbol> | undefined;
  #symbolsBySection: Map<number, ElfSymbol[]> | undefined;
  #sectionsByName: Map<string, ElfSection> | undefined;
  readonly #relocs = new Map<number, ElfRelocationSection>();
  #allRelocs: readonly ElfRelocationSection[] | undefined;

  private constructor(bytes: Uint8Array) {
    const raw = readHeader(bytes);
    const table = readSectionTable(bytes, raw);
    this.bytes = bytes;
    this.littleEndian = raw.littleEndian;
    this.machine = raw.ehdr.e_machine;
    this.fileType = raw.ehdr.e_type;
    this.sections = table.sections;
    this.header = {
      littleEndian: raw.littleEndian,
      osabi: raw.ehdr.ei_osabi,
      fileType: raw.ehdr.e_type,
      machine: raw.ehdr.e_machine,
      version: raw.ehdr.e_version,
      flags: raw.ehdr.e_flags,
      // readSectionTable has checked e_shoff lies inside the file.
      sectionHeaderOffset: Number(raw.ehdr.e_shoff),
      sectionCount: table.sections.length,
      sectionNameTableIndex: table.nameTableIndex,
    };
    // Header-level checks of symtab and relocation sections are cheap; do them now so that
    // structural errors surface at parse time. Entries are decoded lazily.
    this.#symtab = locateSymbolTable(this.sections);
    this.#relocInfo = this.sections.filter(isRelocationSection).map((s) => checkRelocationSection(s, this.sections, this.#symtab));
  }

  /**
   * Parse an ELF64 relocatable object (either byte order) for EM_BPF or EM_NONE.
   * The bytes are referenced, not copied.
   * @throws {@link ElfError} for any malformed, truncated or unsupported input.
   */
  static parse(bytes: Uint8Array): ElfFile {
    // Re-view subclasses (Node's Buffer) as a plain Uint8Array over the same memory: Buffer#slice
    // returns a view, not a copy, which would surprise users of `data.slice()` and the writer.
    const plain = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return guarded(() => new ElfFile(plain));
  }

  /** The first section named `name`, or undefined. */
  section(name: string): ElfSection | undefined {
    if (!this.#sectionsByName) {
      const map = new Map<string, ElfSection>();
      for (const s of this.sections) if (!map.has(s.name)) map.set(s.name, s);
      this.#sectionsByName = map;
    }
    return this.#sectionsByName.get(name);
  }

  /**
   * The section at `index`.
   * @throws {@link ElfError} `ELF_SECTION_NOT_FOUND` when there is no such section.
   */
  sectionAt(index: number): ElfSection {
    const s = Number.isInteger(index) ? this.sections[index] : undefined;
    if (!s) throw new ElfError("ELF_SECTION_NOT_FOUND", `expected a section index in 0..${this.sections.length - 1}, found ${index}`);
    return s;
  }

  /** The SHT_SYMTAB section, if the object has one. */
  get symbolTable(): ElfSection | undefined {
    return this.#symtab?.section;
  }

  /**
   * All symbol table entries in table order (`symbols[i].index === i`, entry 0 is the null symbol);
   * empty when there is no symbol table. Decoded on first access.
   * @throws {@link ElfError} `ELF_BAD_SYMTAB` / `ELF_BAD_STRING` for a malformed entry.
   */
  get symbols(): readonly ElfSymbol[] {
    if (!this.#symbols) {
      const info = this.#symtab;
      this.#symbols = info ? guarded(() => decodeSymbols(info, this.sections.length, this.littleEndian)) : [];
    }
    return this.#symbols;
  }

  /** The first symbol (in table order) named `name`, or undefined. Unnamed symbols are not indexed. */
  symbol(name: string): ElfSymbol | undefined {
    if (!this.#symbolsByName) {
      const map = new Map<string, ElfSymbol>();
      for (const s of this.symbols) if (s.name !== "" && !map.has(s.name)) map.set(s.name, s);
      this.#symbolsByName = map;
    }
    return this.#symbolsByName.get(name);
  }

  /** Symbols whose st_shndx is `sectionIndex` (special SHN_* values allowed), in table order. */
  symbolsIn(sectionIndex: number): readonly ElfSymbol[] {
    if (!this.#symbolsBySection) {
      const map = new Map<number, ElfSymbol[]>();
      for (const s of this.symbols) {
        const list = map.get(s.sectionIndex);
        if (list) list.push(s);
        else map.set(s.sectionIndex, [s]);
      }
      this.#symbolsBySection = map;
    }
    return this.#symbolsBySection.get(sectionIndex) ?? [];
  }

  /**
   * Every REL/RELA section with its decoded entries, in section order. Decoded on first access.
   * @throws {@link ElfError} `ELF_BAD_RELOCATION` for an entry outside its target or naming a missing symbol.
   */
  get relocations(): readonly ElfRelocationSection[] {
    this.#allRelocs ??= this.#relocInfo.map((info) => this.#decoded(info));
    return this.#allRelocs;
  }

  /**
   * The relocation sections that apply to `target` (a section or its index); usually zero or one.
   * Only those sections are decoded.
   * @throws {@link ElfError} `ELF_SECTION_NOT_FOUND` for an index outside the section table.
   */
  relocationsFor(target: ElfSection | number): readonly ElfRelocationSection[] {
    const index = typeof target === "number" ? this.sectionAt(target).index : target.index;
    return this.#relocInfo.filter((info) => info.target.index === index).map((info) => this.#decoded(info));
  }

  /**
   * Decode everything that is otherwise decoded lazily (symbols, relocations), so that any
   * error in the object surfaces now. Returns `this`.
   * @throws {@link ElfError}
   */
  validate(): this {
    void this.symbols;
    void this.relocations;
    return this;
  }

  /**
   * A copy of the file with the data of some sections replaced (keyed by section name or index);
   * every other byte is identical. Each replacement must be exactly as long as its section.
   * @throws {@link ElfError} `ELF_SECTION_NOT_FOUND` for an unknown key; `ELF_BAD_REPLACEMENT` for a
   * wrong length, a NOBITS section, an ambiguous name or overlapping replacements.
   */
  withSectionData(replacements: ReadonlyMap<string | number, Uint8Array>): Uint8Array {
    return replaceSectionData(this, replacements);
  }

  #decoded(info: RelocationSectionInfo): ElfRelocationSection {
    let r = this.#relocs.get(info.section.index);
    if (!r) {
      const count = this.#symtab?.count ?? 0;
      const entries = guarded(() => decodeRelocations(info, count, this.littleEndian));
      r = { section: info.section, target: info.target, entries };
      this.#relocs.set(info.section.index, r);
    }
    return r;
  }

}

/** Public shapes of a parsed ELF64 relocatable object. */

/** ELF section types used by BPF objects (SHT_*). */
export const SectionType = {
  NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, RELA: 4, HASH: 5, DYNAMIC: 6, NOTE: 7, NOBITS: 8, REL: 9,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** Section flags (SHF_*). */
export const SectionFlags = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4, MERGE: 0x10, STRINGS: 0x20 } as const;

/** Symbol binding (STB_*). */
export const SymbolBinding = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
/** Symbol type (STT_*). */
export const SymbolType = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;
/** Symbol visibility (STV_*). */
export const SymbolVisibility = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 } as const;

/** Special section indexes (SHN_*). */
export const SectionIndex = { UNDEF: 0, LORESERVE: 0xff00, ABS: 0xfff1, COMMON: 0xfff2, XINDEX: 0xffff } as const;

/** ELF machine numbers we recognise. */
export const Machine = { NONE: 0, BPF: 247 } as const;

/** One section header with its name and a zero-copy view of its bytes. */
export interface ElfSection {
  /** Index in the section header table. */
  readonly index: number;
  readonly name: string;
  /** SHT_* value. */
  readonly type: number;
  /** SHF_* bits. */
  readonly flags: number;
  /** File offset of the section's bytes. */
  readonly offset: number;
  /** Size in bytes (for NOBITS: the in-memory size; `data` is then empty). */
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** View into the file bytes (not a copy). Empty for NOBITS. */
  readonly data: Uint8Array;
}

/** One symbol table entry. */
export interface ElfSymbol {
  /** Index in the symbol table. */
  readonly index: number;
  readonly name: string;
  /** st_value: for relocatable objects, the offset within its section. */
  readonly value: number;
  readonly size: number;
  /** STT_* */
  readonly type: number;
  /** STB_* */
  readonly binding: number;
  /** STV_* */
  readonly visibility: number;
  /** st_shndx (SHN_* special values kept as they are). */
  readonly sectionIndex: number;
}

/** One relocation entry (REL or RELA). */
export interface ElfRelocation {
  /** r_offset: byte offset in the target section. */
  readonly offset: number;
  /** Index of the symbol in the symbol table. */
  readonly symbolIndex: number;
  /** Relocation type (R_BPF_*). */
  readonly type: number;
  /** Explicit addend (RELA only). */
  readonly addend?: bigint;
}

/** A REL/RELA section resolved against the section it applies to. */
export interface ElfRelocationSection {
  /** The REL/RELA section itself. */
  readonly section: ElfSection;
  /** The section the relocations apply to. */
  readonly target: ElfSection;
  readonly entries: readonly ElfRelocation[];
}

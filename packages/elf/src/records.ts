/**
 * ELF64 on-disk records, each declared once with the layout codec. All reads of the
 * file go through these declarations; nothing else in the package knows field offsets.
 *
 * @packageDocumentation
 */
import { struct, type Layout } from "./layout.js";

/** `Elf64_Ehdr`, with `e_ident` spelled out field by field (its bytes are endian-independent). */
export const Elf64_Ehdr = struct("Elf64_Ehdr", [
  ["ei_magic", { bytes: 4 }],
  ["ei_class", "u8"],
  ["ei_data", "u8"],
  ["ei_version", "u8"],
  ["ei_osabi", "u8"],
  ["ei_abiversion", "u8"],
  ["ei_pad", { bytes: 7 }],
  ["e_type", "u16"],
  ["e_machine", "u16"],
  ["e_version", "u32"],
  ["e_entry", "u64"],
  ["e_phoff", "u64"],
  ["e_shoff", "u64"],
  ["e_flags", "u32"],
  ["e_ehsize", "u16"],
  ["e_phentsize", "u16"],
  ["e_phnum", "u16"],
  ["e_shentsize", "u16"],
  ["e_shnum", "u16"],
  ["e_shstrndx", "u16"],
] as const);

/** `Elf64_Shdr`: one section header. */
export const Elf64_Shdr = struct("Elf64_Shdr", [
  ["sh_name", "u32"],
  ["sh_type", "u32"],
  ["sh_flags", "u64"],
  ["sh_addr", "u64"],
  ["sh_offset", "u64"],
  ["sh_size", "u64"],
  ["sh_link", "u32"],
  ["sh_info", "u32"],
  ["sh_addralign", "u64"],
  ["sh_entsize", "u64"],
] as const);

/** `Elf64_Sym`: one symbol table entry. */
export const Elf64_Sym = struct("Elf64_Sym", [
  ["st_name", "u32"],
  ["st_info", "u8"],
  ["st_other", "u8"],
  ["st_shndx", "u16"],
  ["st_value", "u64"],
  ["st_size", "u64"],
] as const);

/** `Elf64_Rel`: relocation without addend. `r_info` = symbol index << 32 | type. */
export const Elf64_Rel = struct("Elf64_Rel", [
  ["r_offset", "u64"],
  ["r_info", "u64"],
] as const);

/** `Elf64_Rela`: relocation with explicit signed addend. */
export const Elf64_Rela = struct("Elf64_Rela", [
  ["r_offset", "u64"],
  ["r_info", "u64"],
  ["r_addend", "i64"],
] as const);

/** One entry of an `SHT_SYMTAB_SHNDX` section: the real section index of a symbol whose st_shndx is SHN_XINDEX. */
export const Elf64_Word = struct("Elf64_Word", [["value", "u32"]] as const);

/** The record type a layout decodes to, e.g. `RecordOf<typeof Elf64_Shdr>`. */
export type LayoutRecord<L> = L extends Layout<infer T> ? T : never;

/** ELF identification and header constants used when validating a file. */
export const ElfConst = {
  /** `\x7fELF` */
  MAGIC: [0x7f, 0x45, 0x4c, 0x46] as readonly number[],
  ELFCLASS32: 1,
  ELFCLASS64: 2,
  ELFDATA2LSB: 1,
  ELFDATA2MSB: 2,
  EV_CURRENT: 1,
  ET_REL: 1,
  SHT_SYMTAB_SHNDX: 18,
} as const;

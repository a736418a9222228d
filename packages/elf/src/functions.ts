/**
 * Function symbols of executables and shared objects (ET_EXEC, ET_DYN, of any machine), and where
 * their code is in the file: what a uprobe is placed by (`uprobe/PATH:FUNC`). The symbols come from
 * `.symtab` when the file has one, and `.dynsym` (stripped libraries have only that). Every read is
 * bounds-checked; nothing else of the file is interpreted.
 *
 * @packageDocumentation
 */
import { readRecord, toSafeNumber } from "./checked.js";
import { ElfError } from "./errors.js";
import { readHeader } from "./header.js";
import { Elf64_Shdr, Elf64_Sym, type LayoutRecord } from "./records.js";
import { readString } from "./strings.js";

const SHT_SYMTAB = 2, SHT_DYNSYM = 11, SHT_NOBITS = 8;
const STT_FUNC = 2, STT_GNU_IFUNC = 10;
const SHN_UNDEF = 0, SHN_LORESERVE = 0xff00;

/** A defined function of an executable or shared object. */
export interface FunctionSymbol {
  /** Its name (a `.dynsym` name has no `@VERSION`: versions live apart). */
  readonly name: string;
  /** Where its first instruction is in the file (what a uprobe is placed at). */
  readonly offset: bigint;
  /** Its virtual address (`st_value`) and size. */
  readonly address: bigint;
  readonly size: bigint;
  /** From `.dynsym` (exported), else `.symtab`. */
  readonly dynamic: boolean;
}

/** Every defined function symbol (`STT_FUNC`, `STT_GNU_IFUNC`) of an ELF64 executable or shared object. */
export function functionSymbols(bytes: Uint8Array): FunctionSymbol[] {
  const { littleEndian: le, ehdr } = readHeader(bytes, { executable: true });
  const shoff = toSafeNumber(ehdr.e_shoff, "ELF_BAD_HEADER", "e_shoff", { offset: 0x28 });
  const sections: LayoutRecord<typeof Elf64_Shdr>[] = [];
  for (let i = 0; i < ehdr.e_shnum; i++) sections.push(readRecord(Elf64_Shdr, bytes, shoff + i * Elf64_Shdr.size, le, { what: `section header #${i}`, base: 0 }));
  const data = (i: number, what: string) => {
    const sh = sections[i];
    if (!sh) throw new ElfError("ELF_BAD_SECTION", `${what}: no section #${i}`);
    const start = toSafeNumber(sh.sh_offset, "ELF_BAD_SECTION", `section #${i} sh_offset`, { section: `#${i}` });
    const size = toSafeNumber(sh.sh_size, "ELF_BAD_SECTION", `section #${i} sh_size`, { section: `#${i}` });
    if (sh.sh_type === SHT_NOBITS || start + size > bytes.byteLength) throw new ElfError("ELF_BAD_SECTION", `${what}: section #${i} has no data in the file (offset ${start}, ${size} bytes)`, { section: `#${i}` });
    return bytes.subarray(start, start + size);
  };
  const out: FunctionSymbol[] = [];
  for (const [index, sh] of sections.entries()) {
    if (sh.sh_type !== SHT_SYMTAB && sh.sh_type !== SHT_DYNSYM) continue;
    const dynamic = sh.sh_type === SHT_DYNSYM;
    const label = dynamic ? ".dynsym" : ".symtab";
    const table = data(index, label);
    const strings = { data: data(sh.sh_link, `${label} sh_link`), label: `${label} strings` };
    for (let at = Elf64_Sym.size; at + Elf64_Sym.size <= table.byteLength; at += Elf64_Sym.size) {
      const sym = readRecord(Elf64_Sym, table, at, le, { what: `${label} symbol`, base: 0, section: label });
      const type = sym.st_info & 0xf;
      if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || sym.st_shndx === SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE) continue;
      const home = sections[sym.st_shndx];
      if (!home) continue;
      const name = readString(strings, sym.st_name, `${label} symbol st_name`, { section: label });
      // libbpf elf_sym_offset: the address, made relative to its section, then placed where the section is in the file.
      out.push({ name, offset: sym.st_value - home.sh_addr + home.sh_offset, address: sym.st_value, size: sym.st_size, dynamic });
    }
  }
  return out;
}

/**
 * The file offset of function `name` of an executable or shared object (libbpf `elf_find_func_offset`):
 * `name@VERSION` names a versioned `.dynsym` symbol by its base name. Several symbols of the name at
 * different offsets (not aliases of one function) are an error, as in libbpf.
 */
export function functionFileOffset(bytes: Uint8Array, name: string, where = "the file"): bigint {
  const base = name.replace(/@.*$/, "");
  const found = functionSymbols(bytes).filter((f) => f.name === base || f.name === name);
  const offsets = [...new Set(found.map((f) => f.offset))];
  if (offsets.length === 0) throw new ElfError("ELF_NO_SUCH_FUNCTION", `${where} has no function '${name}' (in .symtab or .dynsym)`);
  if (offsets.length > 1) throw new ElfError("ELF_NO_SUCH_FUNCTION", `${where} has several functions '${name}', at file offsets ${offsets.map((o) => `0x${o.toString(16)}`).join(", ")}: give the offset`);
  return offsets[0]!;
}

/**
 * ELF file header (`Elf64_Ehdr`) decoding and validation: identification, byte order,
 * file type and machine. Section table geometry is checked by `sections.ts`.
 */
import { readRecord } from "./checked.js";
import { ElfError } from "./errors.js";
import { machineName } from "./machine.js";
import { ElfConst, Elf64_Ehdr, Elf64_Shdr, type LayoutRecord } from "./records.js";
import { Machine } from "./types.js";

/** Decoded `Elf64_Ehdr` plus the byte order it was decoded with. */
export interface RawHeader {
  readonly littleEndian: boolean;
  readonly ehdr: LayoutRecord<typeof Elf64_Ehdr>;
}

const FILE_TYPES: Record<number, string> = { 0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC (executable)", 3: "ET_DYN (shared object)", 4: "ET_CORE (core dump)" };

/** Validate the identification bytes that are present, so a short file still gets the most specific error. */
function checkIdent(bytes: Uint8Array): boolean {
  const magicLen = Math.min(bytes.byteLength, 4);
  for (let i = 0; i < magicLen; i++) {
    if (bytes[i] !== ElfConst.MAGIC[i]) {
      const found = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
      throw new ElfError("ELF_BAD_MAGIC", `not an ELF file: expected magic 7f 45 4c 46 ("\\x7fELF"), found ${found}`, { offset: 0 });
    }
  }
  const cls = bytes[4];
  if (cls !== undefined && cls !== ElfConst.ELFCLASS64) {
    const what = cls === ElfConst.ELFCLASS32 ? "ELFCLASS32 (a 32-bit object)" : `invalid class ${cls}`;
    throw new ElfError("ELF_NOT_64BIT", `EI_CLASS: expected 2 (ELFCLASS64), found ${what}; BPF objects are always ELF64`, { offset: 4 });
  }
  const data = bytes[5];
  if (data !== undefined && data !== ElfConst.ELFDATA2LSB && data !== ElfConst.ELFDATA2MSB) {
    throw new ElfError("ELF_BAD_HEADER", `EI_DATA: expected 1 (little-endian) or 2 (big-endian), found ${data}`, { offset: 5 });
  }
  const version = bytes[6];
  if (version !== undefined && version !== ElfConst.EV_CURRENT) {
    throw new ElfError("ELF_BAD_HEADER", `EI_VERSION: expected 1 (EV_CURRENT), found ${version}`, { offset: 6 });
  }
  return data === ElfConst.ELFDATA2LSB;
}

/**
 * Decode and validate the file header: magic, class, byte order, ET_REL, machine and record sizes.
 * With `executable`, an executable or shared object of any machine instead (for its symbols only).
 */
export function readHeader(bytes: Uint8Array, options: { readonly executable?: boolean } = {}): RawHeader {
  if (bytes.byteLength === 0) {
    throw new ElfError("ELF_TRUNCATED", `empty input: expected a ${Elf64_Ehdr.size}-byte Elf64_Ehdr`, { offset: 0 });
  }
  const littleEndian = checkIdent(bytes);
  const ehdr = readRecord(Elf64_Ehdr, bytes, 0, littleEndian, { what: "file header", base: 0 });
  const at = (field: keyof typeof ehdr & string) => Elf64_Ehdr.field(field).offset;

  if (options.executable) {
    if (ehdr.e_type !== 2 && ehdr.e_type !== 3) {
      const name = FILE_TYPES[ehdr.e_type] ?? "unknown type";
      throw new ElfError("ELF_BAD_HEADER", `e_type: expected 2 (ET_EXEC) or 3 (ET_DYN), an executable or a shared object, found ${ehdr.e_type} (${name})`, { offset: at("e_type") });
    }
  } else if (ehdr.e_type !== ElfConst.ET_REL) {
    const name = FILE_TYPES[ehdr.e_type] ?? "unknown type";
    throw new ElfError(
      "ELF_NOT_RELOCATABLE",
      `e_type: expected 1 (ET_REL, a relocatable object as produced by clang -c), found ${ehdr.e_type} (${name})`,
      { offset: at("e_type") },
    );
  }
  if (!options.executable && ehdr.e_machine !== Machine.BPF && ehdr.e_machine !== Machine.NONE) {
    throw new ElfError(
      "ELF_WRONG_MACHINE",
      `e_machine: expected 247 (EM_BPF) or 0 (EM_NONE), found ${ehdr.e_machine} (${machineName(ehdr.e_machine)}); compile with clang -target bpf`,
      { offset: at("e_machine") },
    );
  }
  if (ehdr.e_ehsize !== Elf64_Ehdr.size) {
    throw new ElfError("ELF_BAD_HEADER", `e_ehsize: expected ${Elf64_Ehdr.size}, found ${ehdr.e_ehsize}`, { offset: at("e_ehsize") });
  }
  // e_shentsize only matters when there is a section header table to read.
  if ((ehdr.e_shoff !== 0n || ehdr.e_shnum !== 0) && ehdr.e_shentsize !== Elf64_Shdr.size) {
    throw new ElfError("ELF_BAD_HEADER", `e_shentsize: expected ${Elf64_Shdr.size} (sizeof Elf64_Shdr), found ${ehdr.e_shentsize}`, {
      offset: at("e_shentsize"),
    });
  }
  return { littleEndian, ehdr };
}

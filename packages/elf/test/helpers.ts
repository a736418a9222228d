// Shared test helpers: fixture loading, llvm-readelf JSON, and field patches written through
// the package's own layouts (so tests do not hard-code ELF offsets either).
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ElfError, ElfFile, Elf64_Ehdr, Elf64_Rel, Elf64_Shdr, Elf64_Sym, type LayoutRecord } from "@x/elf";
import { expect } from "vitest";

export const FIXTURES = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
export const fixtureNames = readdirSync(`${FIXTURES}obj`).filter((f) => f.endsWith(".bpf.o")).sort();
export const fixturePath = (name: string) => `${FIXTURES}obj/${name}`;
/** A fresh copy of a fixture's bytes (tests patch them). */
export const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(fixturePath(name)));

const has = (cmd: string) => spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
export const hasReadelf = has("llvm-readelf-19");
export const hasClang = has("clang-19");

/** `llvm-readelf-19 --elf-output-style=JSON -S -s -r` of a file, first (only) object. */
export function readelf(path: string): ReadelfJson {
  const out = execFileSync("llvm-readelf-19", ["--elf-output-style=JSON", "-S", "-s", "-r", path], { encoding: "utf8", maxBuffer: 64 << 20 });
  return (JSON.parse(out) as ReadelfJson[])[0]!;
}

interface Named { Name: string; Value: number }
export interface ReadelfJson {
  Sections: { Section: { Index: number; Name: Named; Type: Named; Flags: { Value: number }; Offset: number; Size: number; Link: number; Info: number; AddressAlignment: number; EntrySize: number } }[];
  Symbols?: { Symbol: { Name: Named; Value: number; Size: number; Binding: Named; Type: Named; Other: { Value: number }; Section: Named } }[];
  Relocations?: { SectionIndex: number; Relocs: { Relocation: { Offset: number; Type: Named; Symbol: Named } }[] }[];
}

/** Expect `fn` to throw an ElfError with `code`; returns it for further checks. */
export function expectElfError(fn: () => unknown, code: string): ElfError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    expect((e as ElfError).code, (e as Error).message).toBe(code);
    return e as ElfError;
  }
  throw new Error(`expected ElfError ${code}, but nothing was thrown`);
}

/** Parse and decode everything lazy; used wherever "parses or throws ElfError" is asserted. */
export function parseFully(bytes: Uint8Array): ElfFile {
  const f = ElfFile.parse(bytes).validate();
  for (const s of f.sections) {
    f.relocationsFor(s);
    f.symbolsIn(s.index);
    f.section(s.name);
  }
  for (const s of f.symbols) f.symbol(s.name);
  return f;
}

const le = (bytes: Uint8Array) => bytes[5] !== 2;
const shoff = (bytes: Uint8Array) => Number(Elf64_Ehdr.read(bytes, 0, le(bytes)).e_shoff);

export function patchEhdr(bytes: Uint8Array, v: Partial<LayoutRecord<typeof Elf64_Ehdr>>): Uint8Array {
  Elf64_Ehdr.write(bytes, 0, v, le(bytes));
  return bytes;
}
export function patchShdr(bytes: Uint8Array, index: number, v: Partial<LayoutRecord<typeof Elf64_Shdr>>): Uint8Array {
  Elf64_Shdr.write(bytes, shoff(bytes) + index * Elf64_Shdr.size, v, le(bytes));
  return bytes;
}
export function readShdr(bytes: Uint8Array, index: number): LayoutRecord<typeof Elf64_Shdr> {
  return Elf64_Shdr.read(bytes, shoff(bytes) + index * Elf64_Shdr.size, le(bytes));
}
export function patchSym(bytes: Uint8Array, symIndex: number, v: Partial<LayoutRecord<typeof Elf64_Sym>>): Uint8Array {
  const symtab = ElfFile.parse(bytes).symbolTable!;
  Elf64_Sym.write(bytes, symtab.offset + symIndex * Elf64_Sym.size, v, le(bytes));
  return bytes;
}
export function patchRel(bytes: Uint8Array, relSection: string, entry: number, v: Partial<LayoutRecord<typeof Elf64_Rel>>): Uint8Array {
  const s = ElfFile.parse(bytes).section(relSection)!;
  Elf64_Rel.write(bytes, s.offset + entry * Elf64_Rel.size, v, le(bytes));
  return bytes;
}

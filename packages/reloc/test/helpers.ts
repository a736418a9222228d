/**
 * Test-only helpers: a minimal ELF64 reader (sections, symtab, REL sections) producing a
 * RelocSource, fixture loading, llvm-objdump parsing, and a builder for hand-crafted objects.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as elf from "@x/elf";
import { SectionFlags, SectionType, SymbolBinding, SymbolType, SymbolVisibility } from "@x/elf";
import { readCString, struct } from "@x/elf/layout";
import { encodeInstructions, RelocationError, type Instruction, type RelocSection, type RelocSource, type RelocSymbol } from "@x/reloc";

export const FIXTURES = fileURLToPath(new URL("../../../fixtures/obj/", import.meta.url));

const Ehdr = struct("Elf64_Ehdr", [
  ["ident", { bytes: 16 }],
  ["type", "u16"], ["machine", "u16"], ["version", "u32"], ["entry", "u64"], ["phoff", "u64"], ["shoff", "u64"],
  ["flags", "u32"], ["ehsize", "u16"], ["phentsize", "u16"], ["phnum", "u16"], ["shentsize", "u16"], ["shnum", "u16"], ["shstrndx", "u16"],
]);
const Shdr = struct("Elf64_Shdr", [
  ["name", "u32"], ["type", "u32"], ["flags", "u64"], ["addr", "u64"], ["offset", "u64"], ["size", "u64"],
  ["link", "u32"], ["info", "u32"], ["addralign", "u64"], ["entsize", "u64"],
]);
const Sym = struct("Elf64_Sym", [["name", "u32"], ["info", "u8"], ["other", "u8"], ["shndx", "u16"], ["value", "u64"], ["size", "u64"]]);
const Rel = struct("Elf64_Rel", [["offset", "u64"], ["info", "u64"]]);

/** A tiny ELF64 reader: enough of an object for @x/reloc, and nothing else. */
export function readElfForTests(bytes: Uint8Array): RelocSource {
  const littleEndian = bytes[5] === 1;
  const eh = Ehdr.read(bytes, 0, littleEndian);
  const raw = Array.from({ length: eh.shnum }, (_, i) => Shdr.read(bytes, Number(eh.shoff) + i * Shdr.size, littleEndian));
  const strtabOf = (i: number) => {
    const s = raw[i]!;
    return bytes.subarray(Number(s.offset), Number(s.offset) + Number(s.size));
  };
  const shstr = strtabOf(eh.shstrndx);
  const sections = raw.map((s, index) => ({
    index,
    name: readCString(shstr, s.name) ?? "",
    type: s.type,
    flags: Number(s.flags),
    size: Number(s.size),
    data: s.type === SectionType.NOBITS ? new Uint8Array(0) : bytes.subarray(Number(s.offset), Number(s.offset) + Number(s.size)),
    link: s.link,
    info: s.info,
  }));
  const symtab = sections.find((s) => s.type === SectionType.SYMTAB)!;
  const symstr = strtabOf(symtab.link);
  const symbols: RelocSymbol[] = [];
  for (let off = 0; off < symtab.size; off += Sym.size) {
    const s = Sym.read(symtab.data, off, littleEndian);
    symbols.push({
      index: symbols.length,
      name: readCString(symstr, s.name) ?? "",
      value: Number(s.value),
      size: Number(s.size),
      type: s.info & 0xf,
      binding: s.info >> 4,
      visibility: s.other & 3,
      sectionIndex: s.shndx,
    });
  }
  const relocations = sections
    .filter((s) => s.type === SectionType.REL)
    .map((s) => ({
      section: s,
      target: sections[s.info]!,
      entries: Array.from({ length: s.size / Rel.size }, (_, i) => {
        const r = Rel.read(s.data, i * Rel.size, littleEndian);
        return { offset: Number(r.offset), symbolIndex: Number(r.info >> 32n), type: Number(r.info & 0xffffffffn) };
      }),
    }));
  return { littleEndian, sections, symbols, relocations };
}

/** Whether `@x/elf` exports a working `ElfFile` yet. */
export const hasElfFile = typeof (elf as Record<string, unknown>)["ElfFile"] === "function";

/** Parse an object with `ElfFile.parse` of `@x/elf` when it exists, else with the test reader. */
export function parseObject(bytes: Uint8Array): RelocSource {
  if (hasElfFile) {
    const ElfFile = (elf as unknown as { ElfFile: { parse(b: Uint8Array): RelocSource } }).ElfFile;
    return ElfFile.parse(bytes);
  }
  return readElfForTests(bytes);
}

/** A plain-object copy of a source (an ElfFile has getters that object spread would drop). */
export function plain(src: RelocSource): RelocSource {
  return { littleEndian: src.littleEndian, sections: src.sections, symbols: src.symbols, relocations: src.relocations };
}

/** Bytes of a fixture object (a fresh copy, safe to mutate). */
export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(FIXTURES + name));
}

/** One relocation line of `llvm-objdump -dr`. */
export interface ObjdumpReloc {
  readonly section: string;
  readonly offset: number;
  readonly type: string;
  readonly symbol: string;
}

/** Run `llvm-objdump-19 -dr` on a fixture and collect its relocations per section. */
export function objdumpRelocations(name: string): ObjdumpReloc[] {
  const text = execFileSync("llvm-objdump-19", ["-dr", FIXTURES + name], { encoding: "utf8" });
  const out: ObjdumpReloc[] = [];
  let section = "";
  for (const line of text.split("\n")) {
    const sec = /^Disassembly of section (.+):$/.exec(line);
    if (sec) section = sec[1]!;
    const rel = /^\s+([0-9a-f]+):\s+(R_BPF_\S+)\s+(\S+)/.exec(line);
    if (rel) out.push({ section, offset: parseInt(rel[1]!, 16), type: rel[2]!, symbol: rel[3]! });
  }
  return out;
}

export function haveObjdump(): boolean {
  try {
    execFileSync("llvm-objdump-19", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-crafted objects

/** Instruction constructors for hand-crafted programs. */
export const I = {
  ld64: (dst: number, imm = 0, src = 0): Instruction[] => [
    { code: 0x18, dstReg: dst, srcReg: src, off: 0, imm },
    { code: 0, dstReg: 0, srcReg: 0, off: 0, imm: 0 },
  ],
  call: (imm: number, src = 0): Instruction => ({ code: 0x85, dstReg: 0, srcReg: src, off: 0, imm }),
  mov: (dst: number, imm: number): Instruction => ({ code: 0xb7, dstReg: dst, srcReg: 0, off: 0, imm }),
  ldxw: (dst: number, src: number, off = 0): Instruction => ({ code: 0x61, dstReg: dst, srcReg: src, off, imm: 0 }),
  exit: (): Instruction => ({ code: 0x95, dstReg: 0, srcReg: 0, off: 0, imm: 0 }),
};

export interface CraftSection {
  readonly name: string;
  readonly insns?: readonly Instruction[];
  readonly size?: number;
  readonly type?: number;
  readonly flags?: number;
}

export interface CraftSymbol {
  readonly name: string;
  readonly section: string | number;
  readonly value?: number;
  readonly size?: number;
  readonly type?: number;
  readonly binding?: number;
  readonly visibility?: number;
}

export interface CraftReloc {
  readonly section: string;
  readonly offset: number;
  readonly symbol: string | number;
}

/**
 * Build a RelocSource by hand. Sections with `insns` are executable PROGBITS; `.bss*` are NOBITS;
 * others PROGBITS data. Section 0 is the null section. Symbol 0 is the null symbol.
 */
export function craft(spec: { sections: CraftSection[]; symbols: CraftSymbol[]; relocs: CraftReloc[]; littleEndian?: boolean }): RelocSource {
  const le = spec.littleEndian ?? true;
  const sections: RelocSection[] = [{ index: 0, name: "", type: SectionType.NULL, flags: 0, size: 0, data: new Uint8Array(0) }];
  for (const s of spec.sections) {
    const exec = s.insns !== undefined;
    const data = exec ? encodeInstructions(s.insns!, le) : new Uint8Array(s.name.startsWith(".bss") ? 0 : (s.size ?? 16));
    sections.push({
      index: sections.length,
      name: s.name,
      type: s.type ?? (s.name.startsWith(".bss") ? SectionType.NOBITS : SectionType.PROGBITS),
      flags: s.flags ?? (exec ? SectionFlags.ALLOC | SectionFlags.EXECINSTR : SectionFlags.ALLOC | SectionFlags.WRITE),
      size: s.size ?? (exec ? data.byteLength : 16),
      data,
    });
  }
  const secIndex = (s: string | number) => (typeof s === "number" ? s : sections.findIndex((x) => x.name === s));
  const symbols: RelocSymbol[] = [{ index: 0, name: "", value: 0, size: 0, type: 0, binding: 0, visibility: 0, sectionIndex: 0 }];
  for (const s of spec.symbols) {
    const idx = secIndex(s.section);
    if (idx < 0) throw new Error(`craft: no section ${String(s.section)}`);
    symbols.push({
      index: symbols.length,
      name: s.name,
      value: s.value ?? 0,
      size: s.size ?? 0,
      type: s.type ?? SymbolType.OBJECT,
      binding: s.binding ?? SymbolBinding.GLOBAL,
      visibility: s.visibility ?? SymbolVisibility.DEFAULT,
      sectionIndex: idx,
    });
  }
  const bySection = new Map<string, { offset: number; symbolIndex: number; type: number }[]>();
  for (const r of spec.relocs) {
    const symbolIndex = typeof r.symbol === "number" ? r.symbol : symbols.findIndex((s) => s.name === r.symbol);
    if (symbolIndex < 0) throw new Error(`craft: no symbol ${String(r.symbol)}`);
    const list = bySection.get(r.section) ?? [];
    list.push({ offset: r.offset, symbolIndex, type: 1 });
    bySection.set(r.section, list);
  }
  const relocations = [...bySection].map(([name, entries]) => ({
    section: { name: `.rel${name}` },
    target: sections[secIndex(name)]!,
    entries,
  }));
  return { littleEndian: le, sections, symbols, relocations };
}

/** Run `fn` and return the RelocationError it throws (any other outcome fails the test). */
export function relocationError(fn: () => unknown): RelocationError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof RelocationError)) throw e;
    return e;
  }
  throw new Error("expected a RelocationError");
}

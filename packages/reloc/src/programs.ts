/**
 * Programs of an object: one per `STT_FUNC` symbol of an executable section (libbpf `add_programs`).
 *
 * @packageDocumentation
 */
import { SectionFlags, SectionType, SymbolBinding, SymbolType, SymbolVisibility } from "@x/elf";
import { RelocationError } from "./errors.js";
import { INSN_SIZE } from "./insn.js";
import type { ProgramSymbol, RelocSection, RelocSource } from "./types.js";

/** Name of the section holding subprograms. */
export const TEXT_SECTION = ".text";

/** Whether a section holds BPF code (`PROGBITS` with `SHF_EXECINSTR`). */
export function isExecutableSection(section: Pick<RelocSection, "type" | "flags">): boolean {
  return section.type === SectionType.PROGBITS && (section.flags & SectionFlags.EXECINSTR) !== 0;
}

/** Index the sections of `src` by their `index` field. */
export function sectionsByIndex(src: Pick<RelocSource, "sections">): Map<number, RelocSection> {
  return new Map(src.sections.map((s) => [s.index, s]));
}

/**
 * Find the programs of an object, like libbpf `add_programs`: one {@link ProgramSymbol} per
 * `STT_FUNC` symbol in an executable section, sorted by section index then instruction offset
 * (the order libbpf searches them in). Programs of `.text` are subprograms.
 *
 * A static (`STB_LOCAL`) function in a program section is a program, as cilium/ebpf has it (libbpf
 * refuses it: "static programs are not supported").
 *
 * @throws {@link RelocationError} `RELOC_BAD_PROGRAM` if a function's offset or size is not a multiple
 *   of 8, its size is 0, or it crosses the end of its section.
 */
export function findPrograms(src: Pick<RelocSource, "sections" | "symbols">): ProgramSymbol[] {
  const sections = sectionsByIndex(src);
  const out: ProgramSymbol[] = [];
  for (const sym of src.symbols) {
    if (sym.type !== SymbolType.FUNC) continue;
    const sec = sections.get(sym.sectionIndex);
    if (sec === undefined || !isExecutableSection(sec)) continue;
    const ctx = { program: sym.name, section: sec.name, symbol: sym.name };
    if (sym.value + sym.size > sec.size) {
      throw new RelocationError(
        "RELOC_BAD_PROGRAM",
        `sec '${sec.name}': program '${sym.name}' at offset ${sym.value} (size ${sym.size}) crosses section boundary (${sec.size} bytes)`,
        ctx,
      );
    }
    if (sym.size === 0 || sym.size % INSN_SIZE !== 0 || sym.value % INSN_SIZE !== 0) {
      throw new RelocationError(
        "RELOC_BAD_PROGRAM",
        `sec '${sec.name}': corrupted program '${sym.name}', offset ${sym.value}, size ${sym.size} (both must be non-zero multiples of ${INSN_SIZE})`,
        ctx,
      );
    }
    const isSubprog = sec.name === TEXT_SECTION;
    const global = sym.binding !== SymbolBinding.LOCAL;
    out.push({
      name: sym.name,
      section: sec.name,
      sectionIndex: sec.index,
      insnOffset: sym.value / INSN_SIZE,
      insnCount: sym.size / INSN_SIZE,
      global,
      weak: sym.binding === SymbolBinding.WEAK,
      hidden: global && (sym.visibility === SymbolVisibility.HIDDEN || sym.visibility === SymbolVisibility.INTERNAL),
      isSubprog,
    });
  }
  out.sort((a, b) => a.sectionIndex - b.sectionIndex || a.insnOffset - b.insnOffset);
  return out;
}

/**
 * The program of `programs` (sorted as {@link findPrograms} returns them) that contains instruction
 * `insnIndex` of section `sectionIndex`, or undefined (libbpf `find_prog_by_sec_insn`).
 */
export function findProgramAt(programs: readonly ProgramSymbol[], sectionIndex: number, insnIndex: number): ProgramSymbol | undefined {
  let lo = 0;
  let hi = programs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = programs[mid]!;
    if (p.sectionIndex < sectionIndex || (p.sectionIndex === sectionIndex && p.insnOffset <= insnIndex)) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const p = found >= 0 ? programs[found] : undefined;
  if (p && p.sectionIndex === sectionIndex && insnIndex >= p.insnOffset && insnIndex < p.insnOffset + p.insnCount) return p;
  return undefined;
}

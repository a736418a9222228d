/**
 * Classification of the relocations of executable sections, following libbpf
 * `bpf_object__collect_prog_relos` and `bpf_program__record_reloc`.
 *
 * @packageDocumentation
 */
import { SectionIndex, SectionType, SymbolBinding, SymbolType } from "@x/elf";
import { RelocationError, type RelocationErrorCode } from "./errors.js";
import { decodeInstructions, INSN_SIZE, isCall, isLdImm64, PseudoCall, type Instruction } from "./insn.js";
import { findProgramAt, findPrograms, isExecutableSection, sectionsByIndex, TEXT_SECTION } from "./programs.js";
import type { ProgramRelocation, ProgramSymbol, RelocSection, RelocSource, RelocSymbol } from "./types.js";

/** Name of the section holding BTF-defined maps. */
export const MAPS_SECTION = ".maps";

/**
 * Whether `name` holds legacy map definitions (`struct bpf_map_def` of libbpf 0.x, iproute2's
 * `struct bpf_elf_map`): `maps`, or cilium/ebpf's `maps/…`.
 */
export function isLegacyMapsSection(name: string): boolean {
  return name === "maps" || name.startsWith("maps/");
}
/** Name of the arena globals section (`__arena`), relocated like data against the object's ARENA map. */
export const ARENA_SECTION = ".addr_space.1";
/** The arena section's names: clang's, and `.arena.1` of LLVM 18's first arena support. */
export const ARENA_SECTIONS: readonly string[] = [ARENA_SECTION, ".arena.1"];

/** The older home of `bpf_metadata_*` variables (today they live in `.rodata`). */
export const METADATA_SECTION = ".metadata";

/** What a section holds, as far as relocations are concerned. */
export type DataSectionKind = "data" | "rodata" | "bss" | "arena";

/**
 * Classify a global-data section like libbpf `bpf_object__elf_collect`: non-empty `PROGBITS`
 * `.data`/`.data.*` and `.rodata`/`.rodata.*` (string literal sections such as `.rodata.str1.1`
 * included), `NOBITS` `.bss`/`.bss.*`, and the arena section; also `.metadata`, as read-only data.
 * Anything else is undefined.
 */
export function dataSectionKind(section: Pick<RelocSection, "name" | "type" | "size" | "flags">): DataSectionKind | undefined {
  const { name } = section;
  if (section.type === SectionType.NOBITS) {
    return name === ".bss" || name.startsWith(".bss.") ? "bss" : undefined;
  }
  if (section.type !== SectionType.PROGBITS || section.size === 0 || isExecutableSection(section)) return undefined;
  if (name === ".data" || name.startsWith(".data.")) return "data";
  if (name === ".rodata" || name.startsWith(".rodata.")) return "rodata";
  // The read-only section the BPF metadata patches first proposed for `bpf_metadata_*` variables
  // (libbpf skips it; it is read-only data like .rodata, and is bound to every program).
  if (name === METADATA_SECTION) return "rodata";
  if (ARENA_SECTIONS.includes(name)) return "arena";
  return undefined;
}

/** Whether a symbol is an extern (libbpf `sym_is_extern`): undefined, GLOBAL or WEAK, NOTYPE. */
export function isExternSymbol(sym: Pick<RelocSymbol, "sectionIndex" | "binding" | "type">): boolean {
  return (
    sym.sectionIndex === SectionIndex.UNDEF &&
    (sym.binding === SymbolBinding.GLOBAL || sym.binding === SymbolBinding.WEAK) &&
    sym.type === SymbolType.NOTYPE
  );
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

interface RecordContext {
  readonly sections: ReadonlyMap<number, RelocSection>;
  readonly symbols: readonly RelocSymbol[];
  readonly section: RelocSection;
  readonly program: ProgramSymbol;
  readonly insns: readonly Instruction[];
}

/** libbpf `bpf_program__record_reloc`: classify one relocation whose instruction and symbol are known valid. */
function recordReloc(c: RecordContext, insnIndex: number, sym: RelocSymbol, symName: string): ProgramRelocation {
  const insn = c.insns[insnIndex]!;
  const progIdx = insnIndex - c.program.insnOffset;
  // One object shape for every relocation (no spreads): spreading a base object here was most of open's relocation time.
  const make = (kind: ProgramRelocation["kind"], extra: { targetSection?: string; offset?: number; mapName?: string; targetInsn?: number; externName?: string; weak?: boolean }): ProgramRelocation => ({
    kind, insnIndex, section: c.section.name, program: c.program.name, symbol: symName, symbolIndex: sym.index,
    targetSection: extra.targetSection, offset: extra.offset, mapName: extra.mapName, targetInsn: extra.targetInsn,
    externName: extra.externName, weak: extra.weak,
  });
  // Built only on the error paths: this runs once per relocation.
  const fail = (code: RelocationErrorCode, message: string) =>
    new RelocationError(code, `prog '${c.program.name}': ${message}`, { program: c.program.name, section: c.section.name, insnIndex, symbol: symName });

  if (!isCall(insn) && !isLdImm64(insn)) {
    throw fail("RELOC_BAD_INSN", `invalid relo against '${symName}' for insns[${progIdx}].code ${hex(insn.code)} (section '${c.section.name}' insn ${insnIndex})`);
  }

  if (isExternSymbol(sym)) {
    const kind = isCall(insn) ? "extern-call" : "extern-ld64";
    return make(kind, { externName: sym.name, weak: sym.binding === SymbolBinding.WEAK });
  }

  const symSection = c.sections.get(sym.sectionIndex);

  if (isCall(insn)) {
    if (insn.srcReg !== PseudoCall.CALL) {
      throw fail("RELOC_BAD_INSN", `incorrect bpf_call opcode at insns[${progIdx}] (src_reg ${insn.srcReg}, relo against '${symName}')`);
    }
    if (sym.sectionIndex === SectionIndex.UNDEF || symSection?.name !== TEXT_SECTION) {
      const secName = symSection?.name ?? `#${sym.sectionIndex}`;
      throw fail("RELOC_BAD_SECTION", `bad call relo against '${symName}' in section '${secName}'`);
    }
    if (sym.value % INSN_SIZE !== 0) {
      throw fail("RELOC_BAD_SYMBOL", `bad call relo against '${symName}' at offset ${sym.value}`);
    }
    return make("subprog-call", { targetSection: TEXT_SECTION, offset: sym.value, targetInsn: sym.value / INSN_SIZE + insn.imm + 1 });
  }

  if (sym.sectionIndex === SectionIndex.UNDEF || sym.sectionIndex >= SectionIndex.LORESERVE) {
    throw fail("RELOC_UNINITIALISED_GLOBAL", `invalid relo against '${symName}' in special section ${hex(sym.sectionIndex)}; forgot to initialize global var?..`);
  }
  if (symSection === undefined) {
    throw fail("RELOC_BAD_SYMBOL", `symbol '${symName}' points to missing section #${sym.sectionIndex}`);
  }

  if (symSection.name === TEXT_SECTION && isExecutableSection(symSection)) {
    const isSubprogSym =
      sym.type === SymbolType.FUNC || (sym.type === SymbolType.SECTION && sym.binding === SymbolBinding.LOCAL);
    if (!isSubprogSym) {
      throw fail("RELOC_BAD_SECTION", `bad map relo against '${symName}' in section '${TEXT_SECTION}'`);
    }
    // global function: st_value = offset, imm = 0; static function: st_value = 0, imm = offset.
    if (sym.value % INSN_SIZE !== 0 || insn.imm % INSN_SIZE !== 0) {
      throw fail("RELOC_BAD_SYMBOL", `bad subprog addr relo against '${symName}' at offset ${sym.value}+${insn.imm}`);
    }
    return make("subprog-addr", { targetSection: TEXT_SECTION, offset: sym.value, targetInsn: (sym.value + insn.imm) / INSN_SIZE });
  }

  if (symSection.name === MAPS_SECTION || isLegacyMapsSection(symSection.name)) {
    const map = findMapSymbol(c.symbols, sym);
    if (map === undefined) {
      throw fail("RELOC_BAD_SYMBOL", `map relo failed to find map for section '${symSection.name}', off ${sym.value}`);
    }
    return make("map", { targetSection: symSection.name, offset: map.value, mapName: map.name });
  }

  if (dataSectionKind(symSection) === undefined) {
    throw fail("RELOC_BAD_SECTION", `bad data relo against section '${symSection.name}'`);
  }
  return make("data", { targetSection: symSection.name, offset: sym.value + insn.imm });
}

/** The named `.maps` symbol defining the map a relocation symbol refers to (libbpf matches by section and offset). */
function findMapSymbol(symbols: readonly RelocSymbol[], sym: RelocSymbol): RelocSymbol | undefined {
  if (sym.type !== SymbolType.SECTION && sym.name !== "") return sym;
  return symbols.find(
    (s) => s.sectionIndex === sym.sectionIndex && s.value === sym.value && s.type !== SymbolType.SECTION && s.name !== "",
  );
}

/**
 * Classify every relocation of every executable section, like libbpf `collect_prog_relos` and
 * `record_reloc`. The result has one entry per executable section (possibly empty), each list
 * sorted by instruction index. Relocations of non-executable sections (`.BTF`, DWARF, `.maps`) are
 * ignored. A relocation that falls in no program is skipped, as libbpf does for overridden weak
 * functions. Only `r_offset` and the symbol are used (BPF objects use REL, not RELA, so no addend).
 *
 * @param programs - the object's programs, if already computed by {@link findPrograms}.
 * @throws {@link RelocationError} with codes `RELOC_BAD_SYMBOL` (bad symbol index or section, misaligned
 *   call target, unknown map), `RELOC_BAD_OFFSET` (`r_offset` misaligned or outside the section),
 *   `RELOC_INSN_OUT_OF_RANGE` (section data shorter than its size), `RELOC_BAD_INSN` (not an
 *   `ld_imm64`/`call`, or a call without `BPF_PSEUDO_CALL`), `RELOC_UNINITIALISED_GLOBAL`,
 *   `RELOC_BAD_SECTION` (symbol in a section that holds no maps, data or subprograms), and
 *   `RELOC_TRUNCATED`/`RELOC_BAD_PROGRAM` from decoding and {@link findPrograms}.
 */
export function collectRelocations(src: RelocSource, programs: readonly ProgramSymbol[] = findPrograms(src)): Map<string, ProgramRelocation[]> {
  const sections = sectionsByIndex(src);
  const result = new Map<string, ProgramRelocation[]>();
  for (const sec of src.sections) if (isExecutableSection(sec)) result.set(sec.name, []);
  const decoded = new Map<number, Instruction[]>();

  // Decode only the relocation sections of code when the source can (ElfFile can): DWARF and BTF
  // relocations outnumber the code's by far and are never used here.
  const relSecs = src.relocationsFor
    ? src.sections.filter(isExecutableSection).flatMap((sec) => src.relocationsFor!(sec.index))
    : src.relocations;
  for (const relSec of relSecs) {
    const target = sections.get(relSec.target.index) ?? relSec.target;
    if (!isExecutableSection(target)) continue;
    let insns = decoded.get(target.index);
    if (insns === undefined) {
      try {
        insns = decodeInstructions(target.data, src.littleEndian);
      } catch (e) {
        if (e instanceof RelocationError) throw new RelocationError(e.code, `sec '${target.name}': ${e.message}`, { ...e.location, section: target.name }, { cause: e });
        throw e;
      }
      decoded.set(target.index, insns);
    }
    const list = result.get(target.name) ?? [];
    result.set(target.name, list);
    const relName = relSec.section.name;

    relSec.entries.forEach((entry, i) => {
      const sym = src.symbols[entry.symbolIndex];
      if (sym === undefined || !Number.isInteger(entry.symbolIndex)) {
        throw new RelocationError("RELOC_BAD_SYMBOL", `sec '${relName}': symbol #${entry.symbolIndex} not found for relo #${i}`, {
          section: target.name,
        });
      }
      if (sym.sectionIndex !== SectionIndex.UNDEF && sym.sectionIndex < SectionIndex.LORESERVE && !sections.has(sym.sectionIndex)) {
        throw new RelocationError(
          "RELOC_BAD_SYMBOL",
          `sec '${relName}': corrupted symbol #${entry.symbolIndex} pointing to invalid section #${sym.sectionIndex} for relo #${i}`,
          { section: target.name, symbol: sym.name },
        );
      }
      if (!Number.isInteger(entry.offset) || entry.offset < 0 || entry.offset % INSN_SIZE !== 0 || entry.offset >= target.size) {
        throw new RelocationError("RELOC_BAD_OFFSET", `sec '${relName}': invalid offset ${hex(entry.offset)} for relo #${i} (section '${target.name}' is ${target.size} bytes)`, {
          section: target.name,
          symbol: sym.name,
        });
      }
      const insnIndex = entry.offset / INSN_SIZE;
      const symName =
        sym.type === SymbolType.SECTION && sym.name === "" ? (sections.get(sym.sectionIndex)?.name ?? "<?>") : sym.name || "<?>";
      if (insnIndex >= insns.length) {
        throw new RelocationError(
          "RELOC_INSN_OUT_OF_RANGE",
          `sec '${relName}': relo #${i} against '${symName}' targets insn ${insnIndex}, but section '${target.name}' has ${insns.length} instructions`,
          { section: target.name, insnIndex, symbol: symName },
        );
      }
      const program = findProgramAt(programs, target.index, insnIndex);
      if (program === undefined) return; // libbpf: "probably overridden weak function, skipping"
      list.push(recordReloc({ sections, symbols: src.symbols, section: target, program, insns }, insnIndex, sym, symName));
    });
  }
  for (const list of result.values()) list.sort((a, b) => a.insnIndex - b.insnIndex);
  return result;
}

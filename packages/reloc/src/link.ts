/**
 * Static linking of one entry program with the `.text` subprograms it uses (libbpf
 * `bpf_object__reloc_code` / `append_subprog_code`), and rebasing of `.BTF.ext` records
 * (libbpf `adjust_prog_btf_ext_info`). Pure: the object is only read.
 *
 * @packageDocumentation
 */
import { RelocationError } from "./errors.js";
import { cloneInstructions, decodeInstructions, INSN_SIZE, isPseudoFunc, isSubprogCall, PseudoLd, type Instruction } from "./insn.js";
import { findProgramAt, findPrograms, sectionsByIndex, TEXT_SECTION } from "./programs.js";
import { collectRelocations } from "./relocations.js";
import type { ProgramRelocation, ProgramSymbol, RelocSection, RelocSource } from "./types.js";

/** Where a range of original instructions landed in a {@link LinkedProgram}. */
export interface LinkSegment {
  /** Program (function symbol) the range is. */
  readonly program: string;
  /** Section the instructions come from. */
  readonly section: string;
  /** First instruction index in `section` (inclusive). */
  readonly from: number;
  /** End instruction index in `section` (exclusive). */
  readonly to: number;
  /** Index in the linked instruction array where `from` landed. */
  readonly at: number;
}

/** An entry program with every subprogram it uses appended, ready for map patching. */
export interface LinkedProgram {
  /** The entry program's name. */
  readonly name: string;
  /** The entry program's section (its `SEC()` name, which decides the program type). */
  readonly section: string;
  /** The linked instructions: the program, then each used subprogram once, in first-use order. */
  readonly insns: Instruction[];
  /**
   * The relocations left for the loader (`map`, `data`, `extern-*`), with `insnIndex` re-expressed
   * as an index into {@link LinkedProgram.insns}, sorted by it. Subprogram relocations are resolved.
   */
  readonly relocations: ProgramRelocation[];
  /** Original instruction ranges and where they landed; the first is the entry program at 0. */
  readonly segments: LinkSegment[];
}

/** Optional precomputed inputs of {@link linkProgram}. */
export interface LinkOptions {
  /** The object's programs, as returned by {@link findPrograms}. */
  readonly programs?: readonly ProgramSymbol[];
  /**
   * A `.text` subprogram appended after the program's own (once, where it is not already): the
   * exception callback named by the program's `exception_callback:` decl tag, which nothing calls
   * (libbpf `bpf_prog_assign_exc_cb`, appended in `bpf_object__relocate`).
   */
  readonly exceptionCallback?: string;
}

function pickProgram(programs: readonly ProgramSymbol[], name: string): ProgramSymbol {
  const found = programs.find((p) => p.name === name && !p.isSubprog) ?? programs.find((p) => p.name === name);
  if (found === undefined) {
    const known = programs.filter((p) => !p.isSubprog).map((p) => p.name);
    throw new RelocationError("RELOC_UNKNOWN_PROGRAM", `no program named '${name}' (programs: ${known.join(", ") || "none"})`, { program: name });
  }
  return found;
}

/**
 * Link program `programName`: its instructions followed by every `.text` subprogram it calls or
 * takes the address of, transitively, each appended once at its first use (libbpf
 * `reloc_code`/`append_subprog_code`). The target of a call or address is, in `.text` instructions:
 * `sym_off/8 + imm + 1` for a call relocation, `(sym_off + imm)/8` for a subprogram address, and
 * `sec_off + idx + imm + 1` for a call without relocation (within the same section). Each such
 * instruction's `imm` becomes `target_new_index − index − 1`, and an address load gets
 * `src_reg = BPF_PSEUDO_FUNC`. Map, data and extern relocations of every appended range are
 * carried over at their new indexes.
 *
 * @param relocsBySection - {@link collectRelocations}'s result; computed when omitted.
 * @throws {@link RelocationError} `RELOC_UNKNOWN_PROGRAM`; `RELOC_BAD_CALL_TARGET` if a call or
 *   address does not land on the first instruction of a `.text` subprogram; `RELOC_BAD_INSN` for a
 *   subprogram call carrying a map/data relocation or a `BPF_PSEUDO_FUNC` load without relocation.
 */
export function linkProgram(
  src: RelocSource,
  programName: string,
  relocsBySection?: ReadonlyMap<string, readonly ProgramRelocation[]>,
  options: LinkOptions = {},
): LinkedProgram {
  return new Linker(src, relocsBySection, options.programs).link(programName, options);
}

/**
 * {@link linkProgram} for many programs of one object: what every link reads (the decoded
 * instructions of each section, the relocations by section and instruction) is computed once, on
 * first use, so linking all N programs of a section costs N × the program, not N × the section.
 * The object must not change while a linker is used; linked programs are fresh copies.
 */
export class Linker {
  readonly #src: RelocSource;
  readonly #programs: readonly ProgramSymbol[];
  readonly #relocs: ReadonlyMap<string, readonly ProgramRelocation[]>;
  readonly #sections: Map<number, RelocSection>;
  readonly #textSection: RelocSection | undefined;
  readonly #decoded = new Map<number, Instruction[]>();
  /** Per section: its relocations sorted by instruction, and the one at each instruction. */
  readonly #bySection = new Map<string, { sorted: ProgramRelocation[]; at: Map<number, ProgramRelocation> }>();

  /**
   * @param relocsBySection - {@link collectRelocations}'s result; computed when omitted.
   * @param programs - {@link findPrograms}'s result; computed when omitted.
   */
  constructor(src: RelocSource, relocsBySection?: ReadonlyMap<string, readonly ProgramRelocation[]>, programs?: readonly ProgramSymbol[]) {
    this.#src = src;
    this.#programs = programs ?? findPrograms(src);
    this.#relocs = relocsBySection ?? collectRelocations(src, this.#programs);
    this.#sections = sectionsByIndex(src);
    this.#textSection = src.sections.find((sec) => sec.name === TEXT_SECTION);
  }

  #sectionInsns(sec: RelocSection): Instruction[] {
    let insns = this.#decoded.get(sec.index);
    if (insns === undefined) {
      insns = decodeInstructions(sec.data, this.#src.littleEndian);
      this.#decoded.set(sec.index, insns);
    }
    return insns;
  }

  #sectionRelocs(section: string): { sorted: ProgramRelocation[]; at: Map<number, ProgramRelocation> } {
    let r = this.#bySection.get(section);
    if (r === undefined) {
      const sorted = [...(this.#relocs.get(section) ?? [])].sort((a, b) => a.insnIndex - b.insnIndex);
      r = { sorted, at: new Map(sorted.map((x) => [x.insnIndex, x])) };
      this.#bySection.set(section, r);
    }
    return r;
  }

  /** Link program `programName` (see {@link linkProgram}). */
  link(programName: string, options: Pick<LinkOptions, "exceptionCallback"> = {}): LinkedProgram {
    const programs = this.#programs;
    const main = pickProgram(programs, programName);
    const textSection = this.#textSection;
    const out: Instruction[] = [];
    const outRelocs: ProgramRelocation[] = [];
    const segments: LinkSegment[] = [];
    const placed = new Map<ProgramSymbol, number>();

    const append = (prog: ProgramSymbol): number => {
      const sec = this.#sections.get(prog.sectionIndex);
      const insns = sec ? this.#sectionInsns(sec) : [];
      const end = prog.insnOffset + prog.insnCount;
      if (end > insns.length) {
        throw new RelocationError("RELOC_INSN_OUT_OF_RANGE", `prog '${prog.name}': instructions ${prog.insnOffset}..${end} are outside section '${prog.section}' (${insns.length} instructions)`, { program: prog.name, section: prog.section });
      }
      const at = out.length;
      placed.set(prog, at);
      out.push(...cloneInstructions(insns.slice(prog.insnOffset, end)));
      segments.push({ program: prog.name, section: prog.section, from: prog.insnOffset, to: end, at });
      const { sorted } = this.#sectionRelocs(prog.section);
      for (let i = lowerBound(sorted.length, (j) => sorted[j]!.insnIndex, prog.insnOffset); i < sorted.length && sorted[i]!.insnIndex < end; i++) {
        const r = sorted[i]!;
        if (r.kind === "subprog-call" || r.kind === "subprog-addr") continue;
        outRelocs.push({ ...r, insnIndex: r.insnIndex - prog.insnOffset + at });
      }
      relocCode(prog, at);
      return at;
    };

    const relocCode = (prog: ProgramSymbol, at: number): void => {
      const secRelocs = this.#sectionRelocs(prog.section).at;
      for (let idx = 0; idx < prog.insnCount; idx++) {
        const secIdx = prog.insnOffset + idx;
        const insn = out[at + idx]!;
        const relo = secRelocs.get(secIdx);
        const isAddr = isPseudoFunc(insn) || relo?.kind === "subprog-addr";
        if (!isSubprogCall(insn) && !isAddr) continue;
        if (relo?.kind === "extern-call") continue; // kfunc: resolved by the loader
        const ctx = { program: prog.name, section: prog.section, insnIndex: secIdx, symbol: relo?.symbol };
        if (relo && relo.kind !== "subprog-call" && relo.kind !== "subprog-addr") {
          throw new RelocationError("RELOC_BAD_INSN", `prog '${prog.name}': unexpected ${relo.kind} relo for insn #${idx} (subprogram call or address)`, ctx);
        }
        let target: number;
        let targetSectionIndex: number;
        if (relo) {
          const symOff = relo.offset ?? 0;
          target = relo.targetInsn ?? (relo.kind === "subprog-call" ? symOff / INSN_SIZE + insn.imm + 1 : (symOff + insn.imm) / INSN_SIZE);
          targetSectionIndex = textSection?.index ?? -1;
        } else if (isAddr) {
          throw new RelocationError("RELOC_BAD_INSN", `prog '${prog.name}': missing subprog addr relo for insn #${idx}`, ctx);
        } else {
          target = secIdx + insn.imm + 1;
          targetSectionIndex = prog.sectionIndex;
        }
        const sub = findProgramAt(programs, targetSectionIndex, target);
        if (sub === undefined || !sub.isSubprog || sub.insnOffset !== target) {
          const what = sub === undefined ? "no .text subprogram there" : !sub.isSubprog ? `'${sub.name}' is not in ${TEXT_SECTION}` : `it is inside '${sub.name}', which starts at ${sub.insnOffset}`;
          throw new RelocationError(
            "RELOC_BAD_CALL_TARGET",
            `prog '${prog.name}': ${isAddr ? "function address" : "call"} at insn #${idx} targets ${TEXT_SECTION} insn ${target}, but ${what}`,
            ctx,
          );
        }
        const subAt = placed.get(sub) ?? append(sub);
        insn.imm = subAt - (at + idx) - 1;
        if (isAddr) insn.srcReg = PseudoLd.FUNC;
      }
    };

    append(main);
    if (options.exceptionCallback !== undefined) {
      const cb = programs.find((p) => p.isSubprog && p.name === options.exceptionCallback);
      if (cb === undefined) throw new RelocationError("RELOC_UNKNOWN_PROGRAM", `prog '${main.name}': cannot find exception callback '${options.exceptionCallback}'`, { program: main.name });
      if (!placed.has(cb)) append(cb);
    }
    outRelocs.sort((a, b) => a.insnIndex - b.insnIndex);
    return { name: main.name, section: main.section, insns: out, relocations: outRelocs, segments };
  }
}

/** A section's records sorted by instruction index, with those indexes; by records array and unit. */
interface RecordIndex<T> {
  readonly insns: readonly number[];
  readonly records: readonly T[];
}
const recordIndexes = { bytes: new WeakMap<readonly object[], RecordIndex<object>>(), insns: new WeakMap<readonly object[], RecordIndex<object>>() };

/**
 * `records` sorted by instruction, computed once per records array: {@link rebaseExtInfo} is called
 * for every program of an object, and re-reading a whole section's records for each program of it
 * made linking N programs of one section cost N × the section.
 */
function byInstruction<T extends { readonly insnOff: number }>(records: readonly T[], section: string, bytes: boolean): RecordIndex<T> {
  const cache = bytes ? recordIndexes.bytes : recordIndexes.insns;
  let index = cache.get(records) as RecordIndex<T> | undefined;
  if (index === undefined) {
    const entries = records.map((rec) => {
      if (bytes && rec.insnOff % INSN_SIZE !== 0) {
        throw new RelocationError("RELOC_BAD_OFFSET", `sec '${section}': .BTF.ext record at byte offset ${rec.insnOff} is not instruction-aligned`, { section });
      }
      return { insn: bytes ? rec.insnOff / INSN_SIZE : rec.insnOff, rec };
    });
    entries.sort((a, b) => a.insn - b.insn); // stable: records of one instruction keep their order
    index = { insns: entries.map((e) => e.insn), records: entries.map((e) => e.rec) };
    cache.set(records, index);
  }
  return index;
}

/** The first index `i` of `0..length` with `key(i) >= value`, for keys sorted ascending. */
function lowerBound(length: number, key: (i: number) => number, value: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(mid) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Options of {@link rebaseExtInfo}. */
export interface RebaseOptions {
  /**
   * Unit of the input `insnOff`: `"bytes"` as stored in the ELF `.BTF.ext` section (default), or
   * `"insns"` if already divided by 8. The output is always in instructions, as `BPF_PROG_LOAD` wants.
   */
  readonly unit?: "bytes" | "insns";
}

/**
 * Rebase `.BTF.ext` records (func_info, line_info, or anything with an `insnOff`) onto a linked
 * program, like libbpf `adjust_prog_btf_ext_info`: each record of a segment's section whose
 * instruction falls in `[from, to)` is kept with `insnOff = off/8 + at − from`; all others are
 * dropped. The result is sorted by the new `insnOff` (records are copied, other fields untouched).
 *
 * libbpf's policy on missing records (drop all if the entry program has none, fail if only a
 * subprogram lacks them) is left to the caller, who can compare the result against `segments`.
 *
 * @throws {@link RelocationError} `RELOC_BAD_OFFSET` for a byte offset that is not a multiple of 8.
 */
export function rebaseExtInfo<T extends { readonly insnOff: number }>(
  recordsBySection: ReadonlyMap<string, readonly T[]> | Readonly<Record<string, readonly T[]>>,
  segments: readonly LinkSegment[],
  options: RebaseOptions = {},
): T[] {
  const bytes = (options.unit ?? "bytes") === "bytes";
  const get = (section: string): readonly T[] =>
    (recordsBySection instanceof Map ? recordsBySection.get(section) : (recordsBySection as Readonly<Record<string, readonly T[]>>)[section]) ?? [];
  const out: T[] = [];
  for (const seg of segments) {
    const all = get(seg.section);
    if (all.length === 0) continue;
    const { insns, records } = byInstruction(all, seg.section, bytes);
    for (let i = lowerBound(insns.length, (j) => insns[j]!, seg.from); i < insns.length && insns[i]! < seg.to; i++) {
      out.push({ ...records[i]!, insnOff: insns[i]! - seg.from + seg.at });
    }
  }
  return out.sort((a, b) => a.insnOff - b.insnOff);
}

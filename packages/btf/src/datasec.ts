/**
 * DATASEC fix-up, as libbpf's `btf_fixup_datasec` does it at open time: the compiler
 * leaves section sizes and variable offsets at 0; the loader fills them in from the ELF.
 *
 * @packageDocumentation
 */
import { SymbolBinding, SymbolType, SymbolVisibility } from "@x/elf";
import type { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import type { BtfDatasec } from "./types.js";

/** A symbol as seen by the fix-up. */
export interface DatasecSymbol {
  /** `st_value`: offset within its section. */
  value: number;
  /** `STB_*`. */
  binding: number;
  /** `STV_*`. */
  visibility: number;
  /** `STT_*`. */
  type: number;
}

/** Where the fix-up gets section sizes and symbols from (an ELF object, abstracted). */
export interface DatasecSource {
  /** Size in bytes of the ELF section `name`, or undefined if there is none. */
  sectionSize(name: string): number | undefined;
  /**
   * The symbol `name` defined in section `section`, or undefined. When several match, a
   * GLOBAL/WEAK `STT_OBJECT` one should be returned.
   */
  symbol(section: string, name: string): DatasecSymbol | undefined;
}

/** The minimal ELF shape {@link datasecSourceFromElf} needs (matches `@x/elf`'s `ElfFile`). */
export interface DatasecElf {
  sections: readonly { index: number; name: string; size: number }[];
  symbols: readonly { name: string; value: number; type: number; binding: number; visibility: number; sectionIndex: number }[];
}

/** Sections whose DATASEC libbpf only sorts (sizes and offsets were set by extern collection). */
const EXTERN_SECTIONS = new Set([".kconfig", ".ksyms"]);

/**
 * Fix every DATASEC of `btf` (split BTF: its own) in place, exactly like libbpf's `btf_fixup_datasec`:
 *
 * - `.kconfig` and `.ksyms` are only sorted;
 * - if the DATASEC's size is 0 it becomes the ELF section's size (an error if the section
 *   is missing or empty), and each variable's offset becomes its symbol's `st_value`;
 * - static and extern VARs are skipped;
 * - every other VAR needs a GLOBAL or WEAK `STT_OBJECT` symbol (else `BTF_MISSING_SYMBOL`);
 *   a symbol with `STV_HIDDEN`/`STV_INTERNAL` visibility turns the VAR static;
 * - entries are then sorted by offset (stable).
 *
 * @throws BtfError `BTF_MISSING_SECTION`, `BTF_MISSING_SYMBOL`, `BTF_BAD_KIND` (a non-VAR entry).
 */
export function fixupDatasecs(btf: Btf, src: DatasecSource): void {
  for (let id = btf.startId, n = btf.count; id < n; id++) {
    const t = btf.type(id);
    if (t.kind === "DATASEC") fixupDatasec(btf, id, t, src);
  }
}

function fixupDatasec(btf: Btf, id: number, t: BtfDatasec, src: DatasecSource): void {
  const sec = t.name;
  if (!EXTERN_SECTIONS.has(sec)) {
    let fixOffsets = false;
    if (t.size === 0) {
      const size = src.sectionSize(sec);
      if (size === undefined || size === 0) {
        throw new BtfError("BTF_MISSING_SECTION",
          `DATASEC '${sec}': ${size === undefined ? "no ELF section of that name" : "the ELF section is empty"}, cannot determine its size`,
          { btfTypeId: id, btfKind: "DATASEC" });
      }
      t.size = size;
      fixOffsets = true;
    }
    for (const [i, vsi] of t.vars.entries()) {
      const v = Number.isInteger(vsi.type) && vsi.type >= 0 && vsi.type < btf.count ? btf.type(vsi.type) : undefined;
      if (!v || v.kind !== "VAR") {
        throw new BtfError("BTF_BAD_KIND", `DATASEC '${sec}': entry #${i} (type [${vsi.type}]) is ${v ? v.kind : "out of range"}, expected VAR`,
          { btfTypeId: vsi.type, btfKind: v?.kind });
      }
      if (v.linkage === "static" || v.linkage === "extern") continue;
      const sym = src.symbol(sec, v.name);
      if (!sym || sym.type !== SymbolType.OBJECT || (sym.binding !== SymbolBinding.GLOBAL && sym.binding !== SymbolBinding.WEAK)) {
        throw new BtfError("BTF_MISSING_SYMBOL",
          `DATASEC '${sec}': no global object symbol for variable '${v.name}' in section '${sec}'`,
          { btfTypeId: vsi.type, btfKind: "VAR" });
      }
      if (fixOffsets) vsi.offset = sym.value;
      if (sym.visibility === SymbolVisibility.HIDDEN || sym.visibility === SymbolVisibility.INTERNAL) v.linkage = "static";
    }
  }
  t.vars.sort((a, b) => a.offset - b.offset);
}

/**
 * A {@link DatasecSource} over a parsed ELF object (any object with `sections` and
 * `symbols` shaped like `@x/elf`'s `ElfFile`). Symbols are looked up by name among those
 * defined in the named section, preferring GLOBAL/WEAK `STT_OBJECT` ones.
 */
export function datasecSourceFromElf(elf: DatasecElf): DatasecSource {
  const sizes = new Map<string, number>();
  const secNames = new Map<number, string>();
  for (const s of elf.sections) {
    if (!sizes.has(s.name)) sizes.set(s.name, s.size);
    secNames.set(s.index, s.name);
  }
  const bySection = new Map<string, Map<string, DatasecSymbol>>();
  for (const s of elf.symbols) {
    const secName = secNames.get(s.sectionIndex);
    if (secName === undefined || !s.name) continue;
    let m = bySection.get(secName);
    if (!m) bySection.set(secName, (m = new Map()));
    const prev = m.get(s.name);
    const good = (x: DatasecSymbol) => x.type === SymbolType.OBJECT && (x.binding === SymbolBinding.GLOBAL || x.binding === SymbolBinding.WEAK);
    if (!prev || (!good(prev) && good(s))) m.set(s.name, { value: s.value, binding: s.binding, visibility: s.visibility, type: s.type });
  }
  return {
    sectionSize: (name) => sizes.get(name),
    symbol: (section, name) => bySection.get(section)?.get(name),
  };
}

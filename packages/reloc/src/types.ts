/**
 * Input and output shapes of `@x/reloc`.
 *
 * @packageDocumentation
 */
import type { ElfRelocation, ElfSection, ElfSymbol } from "@x/elf";

/** The parts of an ELF section `@x/reloc` reads. An `ElfSection` of `@x/elf` satisfies it. */
export type RelocSection = Pick<ElfSection, "index" | "name" | "type" | "flags" | "size" | "data">;

/** The parts of an ELF symbol `@x/reloc` reads. An `ElfSymbol` of `@x/elf` satisfies it. */
export type RelocSymbol = Pick<ElfSymbol, "index" | "name" | "value" | "size" | "type" | "binding" | "visibility" | "sectionIndex">;

/** A REL/RELA section resolved against its target. An `ElfRelocationSection` of `@x/elf` satisfies it. */
export interface RelocRelocationSection {
  /** The REL/RELA section itself (only its name is used, for messages). */
  readonly section: Pick<ElfSection, "name">;
  /** The section the entries apply to. */
  readonly target: RelocSection;
  readonly entries: readonly ElfRelocation[];
}

/**
 * What `@x/reloc` needs from a parsed object: structurally an `ElfFile` of `@x/elf`, so tests and
 * tools can also hand-craft inputs.
 */
export interface RelocSource {
  /** Byte order of the object (also decides the register nibble order of instructions). */
  readonly littleEndian: boolean;
  /** All sections; `sections[i].index` is normally `i`, but lookups go by the `index` field. */
  readonly sections: readonly RelocSection[];
  /** The symbol table, in order (`symbols[i].index === i`; entry 0 is the null symbol). */
  readonly symbols: readonly RelocSymbol[];
  /** Every REL/RELA section with its target. */
  readonly relocations: readonly RelocRelocationSection[];
  /** The relocation sections that apply to one section (optional: lets a lazy source skip the others). */
  relocationsFor?(target: number): readonly RelocRelocationSection[];
}

/** One program (function symbol) of an executable section, as libbpf `add_programs` finds it. */
export interface ProgramSymbol {
  /** Symbol name. */
  readonly name: string;
  /** Name of the executable section holding it (`tc`, `socket`, `.text`, ...). */
  readonly section: string;
  /** Index of that section. */
  readonly sectionIndex: number;
  /** Index of the first instruction within the section (`st_value / 8`). */
  readonly insnOffset: number;
  /** Number of 8-byte instruction slots (`st_size / 8`). */
  readonly insnCount: number;
  /** Whether the symbol is GLOBAL or WEAK (not LOCAL). */
  readonly global: boolean;
  /** Whether the symbol is WEAK. */
  readonly weak: boolean;
  /** Whether a global symbol has HIDDEN or INTERNAL visibility (libbpf then treats its BTF FUNC as static). */
  readonly hidden: boolean;
  /** Whether it lives in `.text`, i.e. is a subprogram rather than an entry point. */
  readonly isSubprog: boolean;
}

/**
 * Relocation kinds (libbpf `enum reloc_type`):
 * - `map`: `ld_imm64` of a map defined in `.maps` (RELO_LD64);
 * - `data`: `ld_imm64` of an address in a `.data*`/`.rodata*`/`.bss*` section (RELO_DATA);
 * - `subprog-call`: `call` of a `.text` subprogram (RELO_CALL);
 * - `subprog-addr`: `ld_imm64` of a `.text` function address (RELO_SUBPROG_ADDR, `BPF_PSEUDO_FUNC`);
 * - `extern-ld64` / `extern-call`: reference to an undefined GLOBAL/WEAK NOTYPE symbol: kconfig value,
 *   ksym or kfunc (RELO_EXTERN_LD64 / RELO_EXTERN_CALL), resolved by the loader.
 */
export type RelocationKind = "map" | "data" | "subprog-call" | "subprog-addr" | "extern-ld64" | "extern-call";

/** One classified relocation of a program instruction. */
export interface ProgramRelocation {
  readonly kind: RelocationKind;
  /**
   * Instruction index. From {@link collectRelocations}: within the executable section. In a
   * {@link LinkedProgram}: within the linked instruction array.
   */
  readonly insnIndex: number;
  /** Executable section the instruction comes from. */
  readonly section: string;
  /** Program (function symbol) the instruction belongs to. */
  readonly program: string;
  /** Symbol name (for a nameless STT_SECTION symbol, the section's name, as libbpf prints it). */
  readonly symbol: string;
  /** Symbol table index. */
  readonly symbolIndex: number;
  /** `map`/`data`/`subprog-*`: the section the symbol lives in (`.maps`, `.rodata`, `.text`...). */
  readonly targetSection?: string;
  /**
   * `data`: final byte offset in `targetSection` (symbol value + the addend the compiler left in the
   * instruction's `imm`, as libbpf computes `insn[0].imm + sym_off`).
   * `map`: offset of the map's definition in `.maps`.
   * `subprog-*`: symbol value (byte offset in `.text`).
   */
  readonly offset?: number;
  /** `map`: the map's name (the `.maps` symbol name). */
  readonly mapName?: string;
  /** `subprog-*`: index in `.text` of the instruction the call or address targets. */
  readonly targetInsn?: number;
  /** `extern-*`: the extern's symbol name. */
  readonly externName?: string;
  /** `extern-*`: whether the extern is weak (may stay unresolved). */
  readonly weak?: boolean;
}

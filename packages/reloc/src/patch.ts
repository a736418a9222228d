/**
 * Rewriting map and global-data `ld_imm64` instructions once the loader knows the maps' fds
 * (libbpf `bpf_object__relocate_data`), or their indexes for a loader program (gen_loader).
 * Pure: the input array is never modified.
 *
 * @packageDocumentation
 */
import { RelocationError } from "./errors.js";
import { cloneInstructions, isLdImm64, PseudoLd, type Instruction } from "./insn.js";
import type { ProgramRelocation } from "./types.js";

/** Resolves maps to the numbers written into `ld_imm64` instructions (fds or `fd_array` indexes). */
export interface MapResolver {
  /** The number for a `.maps` map, by name. */
  map(name: string): number;
  /** The number for the internal map of a data section (`.data`, `.rodata.str1.1`...), by section name. */
  data(section: string): number;
}

function resolve(
  insns: readonly Instruction[],
  relocs: readonly ProgramRelocation[],
  resolver: MapResolver,
  what: string,
  mapSrc: number,
  valueSrc: number,
): Instruction[] {
  const out = cloneInstructions(insns);
  for (const r of relocs) {
    if (r.kind !== "map" && r.kind !== "data") continue;
    const ctx = { program: r.program, section: r.section, insnIndex: r.insnIndex, symbol: r.symbol };
    const insn = out[r.insnIndex];
    const second = out[r.insnIndex + 1];
    if (insn === undefined || second === undefined) {
      throw new RelocationError(
        "RELOC_INSN_OUT_OF_RANGE",
        `prog '${r.program}': ${r.kind} relo against '${r.symbol}' at insn ${r.insnIndex} is outside the ${out.length} instructions`,
        ctx,
      );
    }
    if (!isLdImm64(insn)) {
      throw new RelocationError(
        "RELOC_BAD_INSN",
        `prog '${r.program}': ${r.kind} relo against '${r.symbol}' at insn ${r.insnIndex} is not on an ld_imm64 (code 0x${insn.code.toString(16)})`,
        ctx,
      );
    }
    const key = r.kind === "map" ? (r.mapName ?? r.symbol) : (r.targetSection ?? r.symbol);
    const value = r.kind === "map" ? resolver.map(key) : resolver.data(key);
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new RelocationError("RELOC_BAD_REFERENCE", `prog '${r.program}': no ${what} for ${r.kind === "map" ? "map" : "data section"} '${key}' (got ${String(value)})`, ctx);
    }
    insn.srcReg = r.kind === "map" ? mapSrc : valueSrc;
    insn.imm = value;
    second.imm = r.kind === "map" ? 0 : (r.offset ?? 0);
  }
  return out;
}

/**
 * Point map and data `ld_imm64` instructions at real maps (libbpf `relocate_data`):
 * - `map`: `src_reg = BPF_PSEUDO_MAP_FD` (1), `imm = fd`, second slot `imm = 0`;
 * - `data`: `src_reg = BPF_PSEUDO_MAP_VALUE` (2), `imm = fd`, second slot `imm = offset`.
 *
 * Other relocation kinds are left alone (subprograms are resolved by {@link linkProgram}, externs
 * by the loader). `relocs[i].insnIndex` must index `insns` (a {@link LinkedProgram}'s relocations, or
 * a section's relocations against that section's instructions).
 *
 * @returns a patched copy; `insns` is not modified.
 * @throws {@link RelocationError} `RELOC_INSN_OUT_OF_RANGE`, `RELOC_BAD_INSN` (not an `ld_imm64`), or
 *   `RELOC_BAD_REFERENCE` if `fds` returns something that is not a 32-bit integer.
 */
export function patchMapReferences(insns: readonly Instruction[], relocs: readonly ProgramRelocation[], fds: MapResolver): Instruction[] {
  return resolve(insns, relocs, fds, "fd", PseudoLd.MAP_FD, PseudoLd.MAP_VALUE);
}

/**
 * Like {@link patchMapReferences}, for a loader program that passes maps through `fd_array`
 * (libbpf gen_loader): `map` → `src_reg = BPF_PSEUDO_MAP_IDX` (5), `data` →
 * `BPF_PSEUDO_MAP_IDX_VALUE` (6), with `imm` the map's index in `fd_array`.
 *
 * @returns a patched copy; `insns` is not modified.
 */
export function patchMapIndexes(insns: readonly Instruction[], relocs: readonly ProgramRelocation[], indexes: MapResolver): Instruction[] {
  return resolve(insns, relocs, indexes, "index", PseudoLd.MAP_IDX, PseudoLd.MAP_IDX_VALUE);
}

/**
 * Rewriting map and global-data `ld_imm64` instructions once the loader knows the maps' fds
 * (libbpf `bpf_object__relocate_data`), or their indexes for a loader program (gen_loader).
 * Pure: the input array is never modified.
 *
 * @packageDocumentation
 */
import { RelocationError } from "./errors.js";
import { CALL, cloneInstructions, isLdImm64, PseudoCall, PseudoLd, splitImm64, type Instruction } from "./insn.js";
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

/** What an extern resolved to, for {@link patchExternReferences} (libbpf `relocate_data`, externs). */
export type ExternTarget =
  /** A `__kconfig` value: `BPF_PSEUDO_MAP_VALUE` into the `.kconfig` map at `offset`. */
  | { readonly kind: "kconfig"; readonly mapFd: number; readonly offset: number }
  /** A typeless ksym (or an unresolved weak one, `address` 0): the address itself, a plain 64-bit constant. */
  | { readonly kind: "address"; readonly address: bigint }
  /** A typed ksym or a kfunc's address: `BPF_PSEUDO_BTF_ID`, the kernel BTF id and the BTF object's fd (0: vmlinux). */
  | { readonly kind: "btf-id"; readonly btfId: number; readonly btfObjFd: number }
  /** A kfunc call: `BPF_PSEUDO_KFUNC_CALL`, the kernel BTF id and the `fd_array` index of its BTF (0: vmlinux). */
  | { readonly kind: "kfunc"; readonly btfId: number; readonly fdIndex: number }
  /** An unresolved weak kfunc's call: an invalid helper call `POISON_KFUNC_CALL_BASE + index`, removed by the verifier when unreachable. */
  | { readonly kind: "poison"; readonly index: number };

/** libbpf's `POISON_CALL_KFUNC_BASE`: a call to helper `2002000000 + extern index` marks an unresolved weak kfunc. */
export const POISON_KFUNC_CALL_BASE = 2002000000;

/**
 * Point extern references at what they resolved to (libbpf `bpf_object__relocate_data`):
 * `extern-ld64` by {@link ExternTarget} kconfig, address or btf-id; `extern-call` by kfunc or poison.
 * `resolve` gets the extern's symbol name and the relocation's kind (a kfunc's address, as
 * `bpf_ksym_exists()` takes it, and its calls resolve differently).
 *
 * @returns a patched copy; `insns` is not modified.
 * @throws {@link RelocationError} `RELOC_INSN_OUT_OF_RANGE`, `RELOC_BAD_INSN` (an `extern-ld64` not on an
 *   `ld_imm64`, an `extern-call` not on a call, or a target that does not fit the instruction).
 */
export function patchExternReferences(
  insns: readonly Instruction[],
  relocs: readonly ProgramRelocation[],
  resolve: (name: string, kind: "extern-ld64" | "extern-call") => ExternTarget,
): Instruction[] {
  const out = cloneInstructions(insns);
  for (const r of relocs) {
    if (r.kind !== "extern-ld64" && r.kind !== "extern-call") continue;
    const name = r.externName ?? r.symbol;
    const ctx = { program: r.program, section: r.section, insnIndex: r.insnIndex, symbol: name };
    const insn = out[r.insnIndex];
    const second = out[r.insnIndex + 1];
    if (insn === undefined || (r.kind === "extern-ld64" && second === undefined)) {
      throw new RelocationError("RELOC_INSN_OUT_OF_RANGE", `prog '${r.program}': extern relo against '${name}' at insn ${r.insnIndex} is outside the ${out.length} instructions`, ctx);
    }
    const t = resolve(name, r.kind);
    const wrong = () => new RelocationError("RELOC_BAD_INSN", `prog '${r.program}': extern '${name}' (${t.kind}) cannot be patched into insn ${r.insnIndex} (code 0x${insn.code.toString(16)}, ${r.kind})`, ctx);
    if (r.kind === "extern-call") {
      if (insn.code !== CALL) throw wrong();
      if (t.kind === "kfunc") {
        insn.srcReg = PseudoCall.KFUNC_CALL;
        insn.imm = t.btfId;
        insn.off = t.fdIndex;
      } else if (t.kind === "poison") {
        insn.srcReg = 0;
        insn.dstReg = 0;
        insn.off = 0;
        insn.imm = POISON_KFUNC_CALL_BASE + t.index;
      } else {
        throw wrong();
      }
      continue;
    }
    if (!isLdImm64(insn)) throw wrong();
    switch (t.kind) {
      case "kconfig":
        insn.srcReg = PseudoLd.MAP_VALUE;
        insn.imm = t.mapFd;
        second!.imm = t.offset;
        break;
      case "btf-id":
        insn.srcReg = PseudoLd.BTF_ID;
        insn.imm = t.btfId;
        second!.imm = t.btfObjFd;
        break;
      case "address": {
        const { lo, hi } = splitImm64(t.address);
        insn.imm = lo;
        second!.imm = hi;
        break;
      }
      default:
        throw wrong();
    }
  }
  return out;
}

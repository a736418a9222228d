/**
 * Relocate: point each program's map and global-data `ld_imm64`s at the maps just created
 * (libbpf `relocate_data`), encode the instructions, and rebase func/line info onto the linked
 * program (libbpf `adjust_prog_btf_ext_info`).
 */
import { BpfFuncInfoLayout, BpfLineInfoLayout, type BtfExtFuncInfo, type BtfExtLineInfo } from "@x/btf";
import { encodeInstructions, type ExternTarget, patchExternReferences, patchMapReferences, type ProgramRelocation, rebaseExtInfo } from "@x/reloc";
import type { ExtInfo } from "@x/sys";
import { LoadError } from "../../errors.js";
import type { ObjectSpec } from "../../spec.js";
import type { Phase } from "../phase.js";
import type { LoadedBtfState, LoadState, ProgramState } from "../state.js";

export const relocate: Phase = {
  name: "relocate",
  run(s) {
    const bySection = new Map<string, number>();
    for (const m of s.maps.values()) if (m.spec.section) bySection.set(m.spec.section, m.fd.fd);
    const withExt = s.btf && s.spec.btfExt && s.features.has("btf_func") ? s.btf : undefined;
    for (const p of s.programs) {
      const mapped = patchMapReferences(p.code ?? p.linked.insns, withArenaOffset(s, p.linked.relocations), resolver(s, p, bySection));
      const patched = s.spec.externs.length ? patchExternReferences(mapped, p.linked.relocations, (name, kind) => externTarget(s, name, kind)) : mapped;
      p.insns = encodeInstructions(patched, s.spec.elf.littleEndian);
      p.ext = withExt ? extInfo(s.spec, p, withExt) : {};
    }
  },
};

function resolver(s: LoadState, p: ProgramState, bySection: ReadonlyMap<string, number>) {
  const where = { object: s.spec.name, program: p.spec.name };
  return {
    map(name: string): number {
      const m = s.maps.get(name);
      if (!m) throw new LoadError("LOAD_PROGRAM", `program '${p.spec.name}' references map '${name}', which the object does not define`, { ...where, map: name });
      return m.fd.fd;
    },
    data(section: string): number {
      const fd = bySection.get(section);
      if (fd === undefined) throw new LoadError("LOAD_PROGRAM", `program '${p.spec.name}' references section ${section}, which has no map (empty or not a data section)`, { ...where, section });
      return fd;
    },
  };
}

/**
 * The relocations with arena globals moved to where the arena holds them (libbpf adds
 * `arena_data_off` to their symbol offsets). The offset is the ld_imm64's 32-bit immediate.
 */
function withArenaOffset(s: LoadState, relocs: readonly ProgramRelocation[]): readonly ProgramRelocation[] {
  const arena = s.arena;
  if (!arena?.dataOffset) return relocs;
  const section = arena.map.spec.section;
  return relocs.map((r) => (r.kind === "data" && r.targetSection === section ? { ...r, offset: ((r.offset ?? 0) + arena.dataOffset) | 0 } : r));
}

/** What an extern reference becomes (libbpf `bpf_object__relocate_data`, the extern cases). */
function externTarget(s: LoadState, name: string, kind: "extern-ld64" | "extern-call"): ExternTarget {
  const e = s.spec.externs.find((x) => x.name === name);
  const r = s.externs.get(name);
  if (!e || !r) throw new LoadError("LOAD_PROGRAM", `extern '${name}' is referenced but was not resolved`, { object: s.spec.name, symbol: name });
  if (e.kind === "kconfig") {
    const map = [...s.maps.values()].find((m) => m.spec.origin === "kconfig")!;
    return { kind: "kconfig", mapFd: map.fd.fd, offset: e.offset };
  }
  if (kind === "extern-call") {
    return r.kind === "btf" ? { kind: "kfunc", btfId: r.btfId, fdIndex: r.module?.fdIndex ?? 0 } : { kind: "poison", index: e.index };
  }
  if (r.kind === "btf") return { kind: "btf-id", btfId: r.btfId, btfObjFd: r.module?.fd.fd ?? 0 };
  return { kind: "address", address: r.kind === "address" ? r.address : 0n };
}

/** func_info / line_info for the linked program, as libbpf `adjust_prog_btf_ext_info` builds them. */
function extInfo(spec: ObjectSpec, p: ProgramState, btf: LoadedBtfState): { funcInfo?: ExtInfo; lineInfo?: ExtInfo } {
  const ext = spec.btfExt!;
  const le = spec.elf.littleEndian;
  const bySection = <R>(secs: { section: string; records: R[] }[]) => new Map(secs.map((sec) => [sec.section, sec.records]));
  const funcs = rebaseExtInfo(bySection(ext.funcInfo.sections), p.linked.segments) as BtfExtFuncInfo[];
  // libbpf: a main program without func_info gets none at all.
  if (!funcs.some((f) => f.insnOff === 0)) return {};
  const lines = rebaseExtInfo(bySection(ext.lineInfo.sections), p.linked.segments) as BtfExtLineInfo[];
  const funcBytes = new Uint8Array(funcs.length * BpfFuncInfoLayout.size);
  funcs.forEach((f, i) => BpfFuncInfoLayout.write(funcBytes, i * BpfFuncInfoLayout.size, { insn_off: f.insnOff, type_id: f.typeId }, le));
  const lineBytes = new Uint8Array(lines.length * BpfLineInfoLayout.size);
  lines.forEach((l, i) => BpfLineInfoLayout.write(lineBytes, i * BpfLineInfoLayout.size, {
    insn_off: l.insnOff,
    file_name_off: btf.stringOffset(l.fileName) ?? 0,
    line_off: btf.stringOffset(l.line) ?? 0,
    line_col: (l.lineNumber << 10) | l.column,
  }, le));
  return {
    funcInfo: { bytes: funcBytes, recSize: BpfFuncInfoLayout.size },
    ...(lines.length ? { lineInfo: { bytes: lineBytes, recSize: BpfLineInfoLayout.size } } : {}),
  };
}

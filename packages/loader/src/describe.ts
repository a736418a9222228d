/** Plain-data descriptions of an object for display (`xbpf inspect`) and JSON. */
import { MapFlags, MapType } from "@x/sys/abi";
import { coreReloKindName, formatCoreSpec, formatType, parseCoreSpec } from "@x/btf";
import { rebaseExtInfo } from "@x/reloc";
import { SectionFlags, SectionType } from "@x/elf";
import { attachTypeName, progTypeName } from "./section-defs.js";
import type { ObjectSpec } from "./spec.js";

const invert = (o: Record<string, number>) => new Map(Object.entries(o).map(([k, v]) => [v, k]));
const MAP_TYPE_NAMES = invert(MapType);
const SECTION_TYPE_NAMES = invert(SectionType);

/** `BPF_MAP_TYPE_*` name without the prefix, e.g. `array`, or the number when unknown. */
export function mapTypeName(type: number): string {
  return MAP_TYPE_NAMES.get(type)?.toLowerCase() ?? String(type);
}

/** Names of the set `BPF_F_*` map flags, e.g. `["RDONLY_PROG", "MMAPABLE"]`. */
export function mapFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(MapFlags)) if (flags & bit) out.push(name.replace(/^BPF_F_/, ""));
  return out;
}

/** A section as `xbpf inspect` shows it. */
export interface SectionDescription { index: number; name: string; type: string; size: number; flags: string }
/** A CO-RE relocation of a program, as `xbpf inspect` shows it. */
export interface CoreRelocationDescription {
  /** The instruction, in the program with its subprograms linked. */
  insn: number;
  /** `FIELD_BYTE_OFFSET`, `TYPE_EXISTS`, `ENUMVAL_VALUE`… */
  kind: string;
  /** The local type and access string, as libbpf prints them: `<byte_off> [5] struct task_struct.pid (0:0 @ offset 0)`. */
  spec: string;
}
/** A program as `xbpf inspect` shows it. */
export interface ProgramDescription {
  name: string; section: string; type: string; attachType: string | null; insns: number; autoload: boolean;
  /** Its CO-RE relocations (resolved against the kernel's BTF at load). */
  coreRelocations: CoreRelocationDescription[];
}
/** A map as `xbpf inspect` shows it. */
export interface MapDescription {
  name: string; type: string; keySize: number; valueSize: number; maxEntries: number; flags: string[];
  section: string | null; origin: string; mmapable: boolean; frozen: boolean;
  /** `map_extra` (an arena's user-space address, a bloom filter's hash count), as a number or a decimal string. */
  mapExtra: bigint;
  /** Initial slots (`.values`): slot → the map or program put there at load; null when there are none. */
  slots: Record<number, string> | null;
  /** A map of maps: its inner maps' definition (type, key and value sizes, max entries). */
  inner: { type: string; keySize: number; valueSize: number; maxEntries: number } | null;
  /** A struct_ops map: the kernel struct it implements, and the program of each function pointer. */
  structOps: { type: string; programs: Record<string, string> } | null;
  /** Created at load (false for `?.struct_ops` maps until asked for). */
  autocreate: boolean;
}
/** A variable as `xbpf inspect` shows it. */
export interface VariableDescription { name: string; section: string; offset: number; size: number; type: string; linkage: string; value: unknown }
/** An extern as `xbpf inspect` shows it. */
export interface ExternDescription {
  name: string;
  /** `kconfig`, `ksym` (a kernel variable, typed or not) or `kfunc`. */
  kind: string;
  weak: boolean;
  /** The C type (`int`, `char[16]`, `void` for a typeless ksym, the prototype of a kfunc). */
  type: string;
  /** For kconfig externs: the value given before load (`spec.kconfig`), else null: resolved at load. */
  value: string | null;
}
/** The whole object. */
export interface ObjectDescription {
  name: string; license: string; btf: boolean;
  sections: SectionDescription[]; programs: ProgramDescription[]; maps: MapDescription[]; variables: VariableDescription[];
  externs: ExternDescription[];
  /** `bpf_metadata_*` variables of the read-only sections, by name without the prefix (what bpftool shows with the program). */
  metadata: Record<string, unknown>;
}

const METADATA_PREFIX = "bpf_metadata_";

/** Describe an opened object: sections, programs, maps (internal ones as they will be created) and variables with values. */
export function describeObject(spec: ObjectSpec): ObjectDescription {
  return {
    name: spec.name,
    license: spec.license,
    btf: spec.btf !== undefined,
    sections: spec.elf.sections.filter((s) => s.type !== SectionType.NULL).map((s) => ({
      index: s.index,
      name: s.name,
      type: SECTION_TYPE_NAMES.get(s.type) ?? `0x${s.type.toString(16)}`,
      size: s.size,
      flags: (s.flags & SectionFlags.WRITE ? "W" : "") + (s.flags & SectionFlags.ALLOC ? "A" : "") + (s.flags & SectionFlags.EXECINSTR ? "X" : "") + (s.flags & SectionFlags.MERGE ? "M" : "") + (s.flags & SectionFlags.STRINGS ? "S" : ""),
    })),
    programs: spec.programs.map((p) => ({
      coreRelocations: coreRelocations(spec, p.name),
      name: p.name, section: p.section, type: p.kind ? progTypeName(p.kind.progType).toLowerCase() : "unknown",
      attachType: p.kind?.attachType !== undefined ? attachTypeName(p.kind.attachType).toLowerCase() : null, insns: p.insnCount, autoload: p.autoload,
    })),
    maps: spec.maps.map((m) => ({
      name: m.name, type: mapTypeName(m.type), keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries,
      flags: mapFlagNames(m.flags | (m.mmapable ? MapFlags.BPF_F_MMAPABLE : 0)), section: m.section ?? null, origin: m.origin,
      mmapable: m.mmapable, frozen: m.freeze, mapExtra: m.mapExtra,
      slots: m.slots?.size ? Object.fromEntries(m.slots) : null,
      inner: m.inner ? { type: mapTypeName(m.inner.type), keySize: m.inner.keySize, valueSize: m.inner.valueSize, maxEntries: m.inner.maxEntries } : null,
      structOps: m.structOps ? { type: `struct ${m.structOps.typeName}`, programs: Object.fromEntries(m.structOps.programs) } : null,
      autocreate: m.autocreate !== false,
    })),
    variables: [...spec.variables.values()].map((v) => ({
      name: v.name, section: v.section, offset: v.offset, size: v.size, type: v.cType, linkage: v.linkage, value: v.get(),
    })),
    externs: spec.externs.map((e) => ({
      name: e.name, kind: e.kind, weak: e.weak, type: e.typeId && spec.btf ? formatType(spec.btf, e.typeId) : "void",
      value: e.kind === "kconfig" ? (spec.kconfigOverrides.get(e.name) ?? null) : null,
    })),
    metadata: Object.fromEntries([...spec.variables.values()]
      .filter((v) => v.readOnly && v.name.startsWith(METADATA_PREFIX))
      .map((v) => [v.name.slice(METADATA_PREFIX.length), v.get()])),
  };
}

/** A program's CO-RE relocations, in the linked program's instruction order. */
function coreRelocations(spec: ObjectSpec, program: string): CoreRelocationDescription[] {
  const sections = spec.btfExt?.coreRelos?.sections;
  if (!sections?.length || !spec.btf) return [];
  const relos = rebaseExtInfo(new Map(sections.map((sec) => [sec.section, sec.records])), spec.linked(program).segments);
  return relos.map((r) => {
    let text: string;
    try {
      text = formatCoreSpec(parseCoreSpec(spec.btf!, r));
    } catch (e) {
      text = `(bad record: ${(e as Error).message})`;
    }
    return { insn: r.insnOff, kind: coreReloKindName(r.kind) ?? String(r.kind), spec: text };
  });
}

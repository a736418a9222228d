/**
 * struct_ops maps at open (libbpf `init_struct_ops_maps`, `bpf_object__collect_st_ops_relos`): each
 * variable of a `.struct_ops` / `.struct_ops.link` section (`?` in front: not created unless asked) is a
 * `BPF_MAP_TYPE_STRUCT_OPS` map named after it, whose value is the struct (`struct tcp_congestion_ops`…)
 * with its function pointers relocated to the object's `struct_ops` programs. At load the struct is
 * rewritten into the kernel's layout (see the struct_ops phase), and registered by `register()`.
 */
import type { Btf } from "@x/btf";
import { type ElfFile, SectionIndex } from "@x/elf";
import type { ProgramSymbol } from "@x/reloc";
import { MapFlags, MapType, ProgType } from "@x/sys/abi";
import { ObjectError } from "./errors.js";
import { programKindOf } from "./section-defs.js";
import type { MapSpec } from "./spec.js";

/** The sections of struct_ops variables, without the `?`. */
const STRUCT_OPS_SECTIONS = [".struct_ops", ".struct_ops.link"];

/** What a struct_ops map holds before load. */
export interface StructOpsSpec {
  /** The section (`.struct_ops`, `.struct_ops.link`), without a `?`. */
  readonly section: string;
  /** The struct's type in the object's BTF, and its name (`tcp_congestion_ops`: the kernel's type of that name). */
  readonly typeId: number;
  readonly typeName: string;
  /** The struct's bytes (the variable's initial value); function pointers are taken from `programs`. */
  readonly image: Uint8Array;
  /** Function pointer member → the program it points to. Edit before load to point it elsewhere. */
  readonly programs: Map<string, string>;
}

/** Whether `name` is a struct_ops section (with or without `?`). */
export function isStructOpsSection(name: string): boolean {
  return STRUCT_OPS_SECTIONS.includes(name.startsWith("?") ? name.slice(1) : name);
}

/** The struct_ops maps of the object, in section then variable order. */
export function structOpsMaps(object: string, elf: ElfFile, btf: Btf | undefined, programs: readonly ProgramSymbol[]): MapSpec[] {
  const out: MapSpec[] = [];
  for (const sec of elf.sections) {
    if (!isStructOpsSection(sec.name)) continue;
    const fail = (message: string) => new ObjectError("OBJECT_BAD_MAP_DEFINITION", `struct_ops ${message}`, { object, section: sec.name });
    const datasecId = btf?.find(sec.name, "DATASEC");
    if (!btf || datasecId === undefined) throw fail(`init: DATASEC ${sec.name} not found (struct_ops need the object's BTF)`);
    const optional = sec.name.startsWith("?");
    const section = optional ? sec.name.slice(1) : sec.name;
    const maps: { spec: MapSpec; offset: number; size: number; ops: StructOpsSpec }[] = [];
    for (const vsi of btf.type(datasecId, "DATASEC").vars) {
      const v = btf.type(vsi.type);
      const typeId = btf.resolve(v.kind === "VAR" ? v.type : vsi.type);
      const t = btf.type(typeId);
      if (!t.name) throw fail("init: anonymous type is not supported");
      if (t.kind !== "STRUCT") throw fail(`init: ${t.name} is not a struct`);
      if (vsi.offset + t.size > sec.size) throw fail(`init: var ${v.name} is beyond the end of DATASEC ${sec.name}`);
      const ops: StructOpsSpec = { section, typeId, typeName: t.name, image: sec.data.slice(vsi.offset, vsi.offset + t.size), programs: new Map() };
      const spec: MapSpec = {
        name: v.name, origin: "struct_ops", type: MapType.STRUCT_OPS, keySize: 4, valueSize: t.size, maxEntries: 1,
        flags: section === ".struct_ops.link" ? MapFlags.BPF_F_LINK : 0, numaNode: 0, mapExtra: 0n, pinning: 0,
        btfKeyTypeId: 0, btfValueTypeId: 0, mmapable: false, freeze: false, structOps: ops, autocreate: !optional,
      };
      maps.push({ spec, offset: vsi.offset, size: t.size, ops });
    }
    // The function pointers, relocated against the programs they point to.
    for (const rel of elf.relocationsFor(sec).flatMap((r) => r.entries)) {
      const sym = elf.symbols[rel.symbolIndex];
      const m = maps.find((x) => x.offset <= rel.offset && rel.offset < x.offset + x.size);
      if (!m) throw fail(`reloc: cannot find map at rel->r_offset ${rel.offset}`);
      if (!sym || sym.sectionIndex === SectionIndex.UNDEF || sym.sectionIndex >= SectionIndex.LORESERVE) {
        throw fail(`reloc ${m.spec.name}: rel->r_offset ${rel.offset}: unsupported non-static function ${sym?.name ?? "?"}`);
      }
      const t = btf.type(m.ops.typeId, "STRUCT");
      const moff = (rel.offset - m.offset) * 8;
      const member = t.members.find((x) => x.bitOffset === moff);
      if (!member) throw fail(`reloc ${m.spec.name}: cannot find member at moff ${moff / 8}`);
      if (!isFuncPointer(btf, member.type)) throw fail(`reloc ${m.spec.name}: cannot relocate non func ptr ${member.name}`);
      const prog = programs.find((p) => !p.isSubprog && p.sectionIndex === sym.sectionIndex && p.insnOffset * 8 === sym.value);
      if (!prog) throw fail(`reloc ${m.spec.name}: cannot find prog at shdr_idx ${sym.sectionIndex} to relocate func ptr ${member.name}`);
      if (programKindOf(prog.section)?.progType !== ProgType.STRUCT_OPS) throw fail(`reloc ${m.spec.name}: prog ${prog.name} is not struct_ops BPF program`);
      m.ops.programs.set(member.name, prog.name);
    }
    out.push(...maps.map((m) => m.spec));
  }
  return out;
}

/** Whether `typeId` is a pointer to a function prototype (modifiers and typedefs skipped). */
export function isFuncPointer(btf: Btf, typeId: number): boolean {
  const p = btf.type(btf.resolve(typeId));
  return p.kind === "PTR" && btf.type(btf.resolve(p.type)).kind === "FUNC_PROTO";
}

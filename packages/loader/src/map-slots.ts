/**
 * Initial slots of maps of maps and program arrays (libbpf `bpf_object__collect_map_relos`): a
 * definition's `.values = { [i] = &inner_map }` or `{ [i] = &prog }` is an array of pointers after the
 * `values` member, each relocated in `.rel.maps` against the symbol it points to. At load the slot
 * gets that map's or program's fd.
 */
import type { Btf } from "@x/btf";
import { type ElfFile, SymbolType } from "@x/elf";
import { MAPS_SECTION, type ProgramSymbol } from "@x/reloc";
import { MapType } from "@x/sys/abi";
import { isMapInMap } from "./btf-maps.js";
import { ObjectError } from "./errors.js";
import type { MapSpec } from "./spec.js";

/** BPF pointers are 64 bits, whatever the host's are. */
const BPF_PTR_SIZE = 8;

/**
 * The slots of each map that has any: map name → (slot index → the name of the map or program it
 * holds). `programs` are the object's entry points (subprograms cannot be tail-called into).
 */
export function collectMapSlots(object: string, elf: ElfFile, btf: Btf, maps: readonly MapSpec[], programs: readonly ProgramSymbol[]): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>();
  const sec = elf.section(MAPS_SECTION);
  const secId = btf.find(MAPS_SECTION, "DATASEC");
  if (!sec || secId === undefined) return out;
  const rels = elf.relocationsFor(sec).flatMap((r) => r.entries);
  if (!rels.length) return out;
  const vars = btf.type(secId, "DATASEC").vars.map((v) => ({ ...v, name: btf.type(v.type).name }));
  const fail = (i: number, message: string) => new ObjectError("OBJECT_BAD_MAP_DEFINITION", `.maps relo #${i}: ${message}`, { object, section: MAPS_SECTION });
  rels.forEach((rel, i) => {
    const sym = elf.symbols[rel.symbolIndex];
    const symName = sym?.name || "<?>";
    const v = vars.find((x) => x.offset <= rel.offset && rel.offset + BPF_PTR_SIZE <= x.offset + x.size);
    const map = v && maps.find((m) => m.name === v.name);
    if (!v || !map) throw fail(i, `cannot find map '${symName}' at rel->r_offset ${rel.offset}`);
    if (map.valuesOffset === undefined) throw fail(i, `map '${map.name}' has no 'values' member for the slot at offset ${rel.offset}`);
    let target: string;
    if (isMapInMap(map.type)) {
      if (sym?.sectionIndex !== sec.index) throw fail(i, `'${symName}' isn't a BTF-defined map`);
      if (map.type === MapType.HASH_OF_MAPS && map.keySize !== 4) throw fail(i, `hash-of-maps '${map.name}' should have key size 4`);
      if (!maps.some((m) => m.name === symName)) throw fail(i, `'${symName}' isn't a valid map reference`);
      target = symName;
    } else if (map.type === MapType.PROG_ARRAY) {
      const prog = programs.find((p) => p.name === symName);
      if (!prog) throw fail(i, `'${symName}' isn't a valid program reference`);
      if (prog.isSubprog || sym?.type !== SymbolType.FUNC || prog.sectionIndex !== sym.sectionIndex || prog.insnOffset * 8 !== sym.value) throw fail(i, `'${symName}' isn't an entry-point program`);
      target = symName;
    } else {
      throw fail(i, `map '${map.name}' is neither a map of maps nor a program array`);
    }
    const off = rel.offset - v.offset - map.valuesOffset;
    if (off < 0 || off % BPF_PTR_SIZE) throw fail(i, `slot of map '${map.name}' at offset ${rel.offset} is not a pointer of its 'values'`);
    const slots = out.get(map.name) ?? new Map<number, string>();
    slots.set(off / BPF_PTR_SIZE, target);
    out.set(map.name, slots);
  });
  return out;
}

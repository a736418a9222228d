/** BTF-defined maps: the `.maps` section's variables, read as libbpf's `parse_btf_map_def` reads them. */
import type { Btf } from "@x/btf";
import { MapType } from "@x/sys/abi";
import { ObjectError } from "./errors.js";

/** A map definition as written with `__uint`/`__type` in a `.maps` struct. */
export interface BtfMapDefinition {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly numaNode: number;
  readonly mapExtra: bigint;
  /** LIBBPF_PIN_BY_NAME (1) pins the map under the pin root by its name. */
  readonly pinning: number;
  /** BTF type ids of the key and value (0 when given only as sizes). */
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
}

const INT_FIELDS = ["type", "max_entries", "map_flags", "numa_node", "key_size", "value_size", "pinning", "map_extra"] as const;

/** Parse every variable of the `.maps` DATASEC into a map definition. */
export function btfMapDefinitions(btf: Btf): BtfMapDefinition[] {
  const secId = btf.find(".maps", "DATASEC");
  if (secId === undefined) return [];
  const sec = btf.type(secId, "DATASEC");
  return sec.vars.map((vsi) => {
    const v = btf.type(vsi.type);
    if (v.kind !== "VAR") throw bad(`.maps`, `entry [${vsi.type}] is ${v.kind}, expected VAR`);
    return parseDefinition(btf, v.name, v.type);
  });
}

function bad(map: string, message: string): ObjectError {
  return new ObjectError("OBJECT_BAD_MAP_DEFINITION", `map '${map}': ${message}`, { map, section: ".maps" });
}

function parseDefinition(btf: Btf, name: string, typeId: number): BtfMapDefinition {
  const def = btf.type(btf.resolve(typeId));
  if (def.kind !== "STRUCT") throw bad(name, `definition is ${def.kind}, expected a struct`);
  const ints = new Map<string, number>();
  let keyType = 0, valueType = 0;
  for (const m of def.members) {
    if ((INT_FIELDS as readonly string[]).includes(m.name)) {
      // __uint(name, val) is `int (*name)[val]`: the value is the array's element count.
      const ptr = btf.type(btf.resolve(m.type));
      const arr = ptr.kind === "PTR" ? btf.type(ptr.type) : undefined;
      if (arr?.kind !== "ARRAY") throw bad(name, `field '${m.name}' is not declared with __uint()`);
      ints.set(m.name, arr.nelems);
    } else if (m.name === "key" || m.name === "value") {
      // __type(name, T) is `T *name`.
      const ptr = btf.type(btf.resolve(m.type));
      if (ptr.kind !== "PTR") throw bad(name, `field '${m.name}' is not declared with __type()`);
      if (m.name === "key") keyType = ptr.type;
      else valueType = ptr.type;
    } else if (m.name === "values") {
      throw bad(name, "initial 'values' (map-in-map and program array slots) are not supported yet");
    } else {
      throw bad(name, `unknown field '${m.name}'`);
    }
  }
  const type = ints.get("type");
  if (type === undefined) throw bad(name, "no 'type' field");
  const sized = (field: "key_size" | "value_size", btfType: number) => {
    const explicit = ints.get(field);
    if (!btfType) return explicit ?? 0;
    const size = btf.sizeof(btfType);
    if (explicit !== undefined && explicit !== size) throw bad(name, `${field} ${explicit} conflicts with the BTF type's size ${size}`);
    return size;
  };
  return {
    name,
    type,
    keySize: sized("key_size", keyType),
    valueSize: sized("value_size", valueType),
    maxEntries: ints.get("max_entries") ?? 0,
    flags: ints.get("map_flags") ?? 0,
    numaNode: ints.get("numa_node") ?? 0,
    mapExtra: BigInt(ints.get("map_extra") ?? 0),
    pinning: ints.get("pinning") ?? 0,
    btfKeyTypeId: keyType,
    btfValueTypeId: valueType,
  };
}

/** Map types whose BTF key/value ids the kernel refuses (libbpf `create_map` zeroes them). */
export const MAP_TYPES_WITHOUT_BTF: ReadonlySet<number> = new Set<number>([
  MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.STACK_TRACE, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS,
  MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP, MapType.SOCKHASH,
  MapType.QUEUE, MapType.STACK, MapType.ARENA,
]);

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
  /**
   * `__array(values, …)`: for a map of maps, the inner maps' definition (`NAME.inner`, the template
   * the outer map is created with); `valuesOffset` is the byte offset of the `values` member in the
   * definition, where the initial slots' pointers are (one per 8 bytes, relocated in `.rel.maps`).
   */
  readonly values?: { readonly offset: number; readonly inner?: BtfMapDefinition };
}

/** Whether `type` is a map of maps. */
export function isMapInMap(type: number): boolean {
  return type === MapType.ARRAY_OF_MAPS || type === MapType.HASH_OF_MAPS;
}

/** Fields given as numbers: `__uint(name, N)` (`int (*name)[N]`); `map_extra` also as `__ulong` (an enum of one value). */
const INT_FIELDS = ["type", "max_entries", "map_flags", "numa_node", "key_size", "value_size", "pinning", "map_extra"] as const;
type IntField = (typeof INT_FIELDS)[number];

/** libbpf's `LIBBPF_PIN_NONE` and `LIBBPF_PIN_BY_NAME`, the only pinning values it accepts. */
const PIN_VALUES: readonly number[] = [0, 1];

/** Parse every variable of the `.maps` DATASEC into a map definition. */
export function btfMapDefinitions(btf: Btf): BtfMapDefinition[] {
  const secId = btf.find(".maps", "DATASEC");
  if (secId === undefined) return [];
  const sec = btf.type(secId, "DATASEC");
  return sec.vars.map((vsi) => {
    const v = btf.type(vsi.type);
    if (v.kind !== "VAR") throw bad(`.maps`, `entry [${vsi.type}] is ${v.kind}, expected VAR`);
    return parseDefinition(btf, v.name, v.type, false);
  });
}

function bad(map: string, message: string): ObjectError {
  return new ObjectError("OBJECT_BAD_MAP_DEFINITION", `map '${map}': ${message}`, { map, section: ".maps" });
}

/** The number a `__uint()` field holds (libbpf `get_map_field_int`): the element count of the array it points to. */
function uintField(btf: Btf, map: string, field: string, typeId: number): number {
  const ptr = btf.type(btf.resolve(typeId));
  if (ptr.kind !== "PTR") throw bad(map, `attr '${field}': expected PTR (declared with __uint()), got ${ptr.kind}`);
  const arr = btf.type(ptr.type);
  if (arr.kind !== "ARRAY") throw bad(map, `attr '${field}': type [${ptr.type}] is ${arr.kind}, expected ARRAY (declared with __uint())`);
  return arr.nelems;
}

/** A `__uint()` or `__ulong()` field (libbpf `get_map_field_long`): `__ulong` is an anonymous enum of one value. */
function ulongField(btf: Btf, map: string, field: string, typeId: number): bigint {
  const t = btf.type(btf.resolve(typeId));
  if (t.kind === "PTR") return BigInt(uintField(btf, map, field, typeId));
  if (t.kind !== "ENUM" && t.kind !== "ENUM64") throw bad(map, `attr '${field}': expected ENUM or ENUM64 (declared with __ulong()), got ${t.kind}`);
  if (t.values.length !== 1) throw bad(map, `attr '${field}': invalid __ulong (an enum of ${t.values.length} values, expected 1)`);
  const v = t.values[0]!.value;
  // An ENUM holds 32 bits (signed or not); the field is the u64 those bits mean, as libbpf reads it.
  return typeof v === "bigint" ? BigInt.asUintN(64, v) : BigInt(v >>> 0);
}

/** The type a `__type(name, T)` field names (`T *name`). */
function typeField(btf: Btf, map: string, field: string, typeId: number): number {
  const ptr = btf.type(btf.resolve(typeId));
  if (ptr.kind !== "PTR") throw bad(map, `attr '${field}': expected PTR (declared with __type()), got ${ptr.kind}`);
  return ptr.type;
}

function parseDefinition(btf: Btf, name: string, typeId: number, isInner: boolean): BtfMapDefinition {
  const def = btf.type(btf.resolve(typeId));
  if (def.kind !== "STRUCT") throw bad(name, `definition is ${def.kind}, expected a struct`);
  const ints = new Map<IntField, number>();
  let mapExtra = 0n;
  let keyType = 0, valueType = 0;
  let values: BtfMapDefinition["values"];
  for (const [i, m] of def.members.entries()) {
    if (m.name === "map_extra") {
      mapExtra = ulongField(btf, name, m.name, m.type);
    } else if ((INT_FIELDS as readonly string[]).includes(m.name)) {
      ints.set(m.name as IntField, uintField(btf, name, m.name, m.type));
    } else if (m.name === "key" || m.name === "value") {
      if (m.name === "key") keyType = typeField(btf, name, m.name, m.type);
      else valueType = typeField(btf, name, m.name, m.type);
    } else if (m.name === "values") {
      if (isInner) throw bad(name, "multi-level inner maps are not supported");
      if (i !== def.members.length - 1) throw bad(name, "'values' member should be last");
      values = { offset: m.bitOffset / 8, inner: valuesDefinition(btf, name, m.type, ints.get("type")) };
    } else {
      throw bad(name, `unknown field '${m.name}'`);
    }
  }
  const type = ints.get("type");
  if (type === undefined) throw bad(name, "no 'type' field");
  if (values) {
    // The slots hold map or program fds: a 4-byte value (libbpf sets it).
    const size = ints.get("value_size");
    if (size !== undefined && size !== 4) throw bad(name, `conflicting value size ${size} != 4`);
    ints.set("value_size", 4);
  }
  const pinning = ints.get("pinning") ?? 0;
  if (!PIN_VALUES.includes(pinning)) throw bad(name, `invalid pinning value ${pinning} (LIBBPF_PIN_NONE 0 or LIBBPF_PIN_BY_NAME 1)`);
  const sized = (field: "key_size" | "value_size", btfType: number) => {
    const explicit = ints.get(field);
    if (!btfType) return explicit ?? 0;
    const size = btf.sizeof(btfType);
    if (explicit !== undefined && explicit !== size) throw bad(name, `conflicting ${field === "key_size" ? "key" : "value"} size ${explicit} != ${size} (${field} and the BTF type's size)`);
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
    mapExtra,
    pinning,
    btfKeyTypeId: keyType,
    btfValueTypeId: valueType,
    ...(values ? { values } : {}),
  };
}

/**
 * `__array(values, T)` is `typeof(T) *values[]` (libbpf `parse_btf_map_def`, "values"): for a map of
 * maps, T is the inner maps' definition (parsed as `NAME.inner`); for a program array, a function
 * prototype. `type` is the outer map's type, when it came before.
 */
function valuesDefinition(btf: Btf, name: string, typeId: number, type: number | undefined): BtfMapDefinition | undefined {
  const mapInMap = type !== undefined && isMapInMap(type);
  const progArray = type === MapType.PROG_ARRAY;
  if (!mapInMap && !progArray) throw bad(name, "'values' needs a map-in-map or a program array ('type' first)");
  const desc = mapInMap ? "map-in-map inner" : "prog-array value";
  const arr = btf.type(typeId);
  if (arr.kind !== "ARRAY" || arr.nelems !== 0) throw bad(name, `${desc} spec is not a zero-sized array`);
  const ptr = btf.type(btf.resolve(arr.type));
  if (ptr.kind !== "PTR") throw bad(name, `${desc} def is of unexpected kind ${ptr.kind}`);
  const target = btf.type(btf.resolve(ptr.type));
  if (progArray) {
    if (target.kind !== "FUNC_PROTO") throw bad(name, `prog-array value def is of unexpected kind ${target.kind}`);
    return undefined;
  }
  if (target.kind !== "STRUCT") throw bad(name, `map-in-map inner def is of unexpected kind ${target.kind}`);
  return parseDefinition(btf, `${name}.inner`, ptr.type, true);
}

/** Map types whose BTF key/value ids the kernel refuses (libbpf `create_map` zeroes them). */
export const MAP_TYPES_WITHOUT_BTF: ReadonlySet<number> = new Set<number>([
  MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.STACK_TRACE, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS,
  MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP, MapType.SOCKHASH,
  MapType.QUEUE, MapType.STACK, MapType.ARENA,
]);

/**
 * CO-RE relocation specs: the access string of a `bpf_core_relo` turned into the path it names
 * through the object's types (libbpf `bpf_core_parse_spec`), and libbpf's printing of it
 * (`bpf_core_format_spec`).
 *
 * @packageDocumentation
 */
import { BtfError } from "../errors.js";
import { BpfCoreReloKind, type BtfExtCoreRelo } from "../ext.js";
import type { BtfKind, BtfType } from "../types.js";
import { CoreRelocationError, type CoreRelocationErrorCode } from "./errors.js";

/**
 * What CO-RE needs of a BTF, local or target: the {@link Btf} class has it, and so may a lazy,
 * index-over-bytes implementation. Nothing else of a BTF is used.
 */
export interface CoreBtf {
  /** Number of type ids, including void and, for split BTF, the base's. */
  readonly count: number;
  /** The first id of this BTF's own types (1, or for split BTF its base's `count`). */
  readonly startId: number;
  /** The type with id `id` (across into the base for split BTF); throws for an id outside. */
  type(id: number): BtfType;
  /** Skip TYPEDEF, VOLATILE, CONST, RESTRICT and TYPE_TAG. */
  resolve(id: number): number;
  /** libbpf `btf__resolve_size`; throws `BTF_NO_SIZE` for a type without one. */
  sizeof(id: number): number;
  /**
   * Ids of this BTF's own types named exactly `name`. CO-RE passes the kind it looks for; an
   * implementation may ignore it (the ids are filtered by kind afterwards) or index by kind (lazy BTF).
   */
  idsByName(name: string, kind?: BtfKind): readonly number[];
  /**
   * Optional: ids of this BTF's own types whose essential name (`___flavour` suffix dropped) is
   * `essential`, plain and flavoured names alike, in id order. Without it, flavoured names
   * (vmlinux's `nf_conn___init`) are found by reading every own type once per BTF object.
   */
  idsByEssentialName?(essential: string, kind?: BtfKind): readonly number[];
}

/** The relocation record fields CO-RE reads (a {@link BtfExtCoreRelo}). */
export type CoreRelo = Pick<BtfExtCoreRelo, "insnOff" | "typeId" | "accessStr" | "kind">;

/** Kind names, indexed by `enum bpf_core_relo_kind` value. */
export const CORE_RELO_KIND_NAMES = [
  "FIELD_BYTE_OFFSET", "FIELD_BYTE_SIZE", "FIELD_EXISTS", "FIELD_SIGNED", "FIELD_LSHIFT_U64", "FIELD_RSHIFT_U64",
  "TYPE_ID_LOCAL", "TYPE_ID_TARGET", "TYPE_EXISTS", "TYPE_SIZE", "ENUMVAL_EXISTS", "ENUMVAL_VALUE", "TYPE_MATCHES",
] as const satisfies readonly (keyof typeof BpfCoreReloKind)[];

/** A relocation kind by name: `"FIELD_BYTE_OFFSET"` … `"TYPE_MATCHES"`. */
export type CoreReloKindName = (typeof CORE_RELO_KIND_NAMES)[number];

/** libbpf's short names (`core_relo_kind_str`), as in its messages: `byte_off`, `type_exists`… */
const SHORT_NAMES = [
  "byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
  "local_type_id", "target_type_id", "type_exists", "type_size", "enumval_exists", "enumval_value", "type_matches",
];

/** libbpf's name of a relocation kind (`core_relo_kind_str`): `byte_off`, …, `unknown`. */
export function coreReloKindString(kind: number): string {
  return SHORT_NAMES[kind] ?? "unknown";
}

/** The name of a relocation kind, or undefined for a value libbpf does not know. */
export function coreReloKindName(kind: number): CoreReloKindName | undefined {
  return CORE_RELO_KIND_NAMES[kind];
}

/** `FIELD_*` kinds (libbpf `core_relo_is_field_based`). */
export function isFieldBased(kind: number): boolean {
  return kind >= BpfCoreReloKind.FIELD_BYTE_OFFSET && kind <= BpfCoreReloKind.FIELD_RSHIFT_U64;
}

/** `TYPE_*` kinds (libbpf `core_relo_is_type_based`). */
export function isTypeBased(kind: number): boolean {
  return (kind >= BpfCoreReloKind.TYPE_ID_LOCAL && kind <= BpfCoreReloKind.TYPE_SIZE) || kind === BpfCoreReloKind.TYPE_MATCHES;
}

/** `ENUMVAL_*` kinds (libbpf `core_relo_is_enumval_based`). */
export function isEnumvalBased(kind: number): boolean {
  return kind === BpfCoreReloKind.ENUMVAL_EXISTS || kind === BpfCoreReloKind.ENUMVAL_VALUE;
}

/** libbpf `BPF_CORE_SPEC_MAX_LEN`: at most this many accessors, high-level or raw. */
export const CORE_SPEC_MAX_LEN = 64;

/** One high-level step (libbpf `struct bpf_core_accessor`): a named field, or an array index. */
export interface CoreAccessor {
  /** The struct/union holding the field (modifiers skipped), or the array element type (the root type for the first step). */
  readonly typeId: number;
  /** Member index, array index, or enumerator index. */
  readonly idx: number;
  /** The field's (or enumerator's) name; undefined for an array access. */
  readonly name: string | undefined;
}

/**
 * A relocation's path through one BTF (libbpf `struct bpf_core_spec`): the high-level accessors
 * (named fields and array indexes only), the raw one (every index of the access string, anonymous
 * members included) and the bit offset they add up to. Type-based specs have no accessors.
 */
export interface CoreSpec {
  readonly btf: CoreBtf;
  /** The relocation's type id, as given (modifiers and typedefs not skipped). */
  readonly rootTypeId: number;
  /** The `enum bpf_core_relo_kind` value. */
  readonly kind: number;
  readonly accessors: readonly CoreAccessor[];
  readonly raw: readonly number[];
  /** Bit offset of the field from the start of the root type. */
  readonly bitOffset: number;
}

/** A spec being built. */
export interface MutableCoreSpec extends CoreSpec {
  accessors: CoreAccessor[];
  raw: number[];
  bitOffset: number;
}

/** An error of this module, with the relocation's root type as location. */
export function coreError(code: CoreRelocationErrorCode, message: string, btf: CoreBtf | undefined, typeId: number | undefined, cause?: unknown): CoreRelocationError {
  let btfKind: string | undefined;
  try { if (btf && typeId !== undefined) btfKind = btf.type(typeId).kind; } catch { /* an id out of range */ }
  return new CoreRelocationError(code, message, { btfTypeId: typeId, btfKind }, cause === undefined ? undefined : { cause });
}

/** Skip modifiers and typedefs: the id and the type (libbpf `skip_mods_and_typedefs`). */
export function skipMods(btf: CoreBtf, id: number): [number, BtfType] {
  const r = btf.resolve(id);
  return [r, btf.type(r)];
}

/** `btf__resolve_size`, as a {@link CoreRelocationError} `CORE_UNSATISFIABLE` when the type has none. */
export function sizeOf(btf: CoreBtf, id: number, what: string): number {
  try {
    return btf.sizeof(id);
  } catch (e) {
    if (e instanceof BtfError && (e.code === "BTF_NO_SIZE" || e.code === "BTF_INVALID")) {
      throw coreError("CORE_UNSATISFIABLE", `${what}: ${e.message}`, btf, id, e);
    }
    throw e;
  }
}

/** Member count of a struct/union, value count of an enum, param count of a prototype (libbpf `btf_vlen`). */
export function vlen(t: BtfType): number {
  switch (t.kind) {
    case "STRUCT": case "UNION": return t.members.length;
    case "ENUM": case "ENUM64": return t.values.length;
    case "FUNC_PROTO": return t.params.length;
    case "DATASEC": return t.vars.length;
    default: return 0;
  }
}

/** libbpf `btf_kind_str`: `struct`, `enum64`, `typedef`, `void`… */
export function kindString(t: BtfType): string {
  return t.kind.toLowerCase();
}

/** `[id] kind name` as libbpf prints a type in CO-RE messages (`<anon>` for no name). */
export function describeType(btf: CoreBtf, id: number): string {
  const t = btf.type(id);
  return `[${id}] ${kindString(t)} ${t.name || "<anon>"}`;
}

/**
 * libbpf `is_flex_arr`: an array of zero elements that is the last member of its struct, reached
 * through that member (`prev` is the accessor before the array index).
 */
export function isFlexArray(btf: CoreBtf, prev: CoreAccessor | undefined, nelems: number): boolean {
  if (prev?.name === undefined || nelems > 0) return false;
  return prev.idx === vlen(btf.type(prev.typeId)) - 1;
}

/**
 * Parse a relocation's access string against the object's BTF (libbpf `bpf_core_parse_spec`):
 *
 * - type-based kinds (`TYPE_*`) take only `"0"` and have no accessors;
 * - enumerator kinds (`ENUMVAL_*`) take one index into the enum (after modifiers and typedefs);
 * - field kinds (`FIELD_*`) take `"i:j:k…"`: the first index treats the root as an array (`&p[i]`),
 *   each next one indexes a member of a struct/union or an element of an array. Anonymous members
 *   are raw steps only; named fields and array indexes are high-level accessors. An array index past
 *   the end is refused unless the array is a flexible one (zero elements, the struct's last member).
 *
 * @throws CoreRelocationError `CORE_BAD_SPEC` (with libbpf's "parsing … failed" wording and why),
 *   `CORE_UNSATISFIABLE` when a type on the path has no size.
 */
export function parseCoreSpec(btf: CoreBtf, relo: CoreRelo): CoreSpec {
  const spec: MutableCoreSpec = { btf, rootTypeId: relo.typeId, kind: relo.kind, accessors: [], raw: [], bitOffset: 0 };
  let root: BtfType;
  try {
    root = btf.type(relo.typeId);
  } catch (e) {
    throw coreError("CORE_BAD_SPEC", `relocation type id ${relo.typeId} is out of range`, undefined, relo.typeId, e);
  }
  const bad = (why: string): CoreRelocationError =>
    coreError("CORE_BAD_SPEC", `parsing [${relo.typeId}] ${kindString(root)} ${root.name || "<anon>"} + ${relo.accessStr || "<?>"} failed: ${why}`, btf, relo.typeId);
  const str = relo.accessStr;
  if (str === "" || str.startsWith(":")) throw bad("empty access string");
  if (isTypeBased(relo.kind)) {
    if (str !== "0") throw bad(`a type-based relocation (${coreReloKindString(relo.kind)}) takes the access string "0"`);
    return spec;
  }
  for (const part of str.split(":")) {
    if (!/^\d+$/.test(part)) throw bad(`'${part}' is not an index`);
    if (spec.raw.length === CORE_SPEC_MAX_LEN) throw bad(`more than ${CORE_SPEC_MAX_LEN} indexes`);
    spec.raw.push(Number(part));
  }
  let [id, t] = skipMods(btf, relo.typeId);
  const first = spec.raw[0]!;

  if (isEnumvalBased(relo.kind)) {
    if (t.kind !== "ENUM" && t.kind !== "ENUM64") throw bad(`an enumerator relocation on ${kindString(t)}, not an enum`);
    if (spec.raw.length > 1) throw bad("an enumerator relocation takes one index");
    if (first >= t.values.length) throw bad(`enumerator index ${first} is out of range: the enum has ${t.values.length}`);
    spec.accessors.push({ typeId: id, idx: first, name: t.values[first]!.name });
    return spec;
  }
  if (!isFieldBased(relo.kind)) throw bad(`unknown relocation kind ${relo.kind}`);

  spec.accessors.push({ typeId: id, idx: first, name: undefined });
  spec.bitOffset = first * sizeOf(btf, id, `relo on [${relo.typeId}]`) * 8;
  for (let i = 1; i < spec.raw.length; i++) {
    [id, t] = skipMods(btf, id);
    const idx = spec.raw[i]!;
    if (t.kind === "STRUCT" || t.kind === "UNION") {
      if (idx >= t.members.length) throw bad(`member index ${idx} is out of range: ${kindString(t)} ${t.name || "<anon>"} has ${t.members.length} members`);
      const m = t.members[idx]!;
      spec.bitOffset += m.bitOffset;
      if (m.name) spec.accessors.push({ typeId: id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === "ARRAY") {
      const prev = spec.accessors[spec.accessors.length - 1];
      [id] = skipMods(btf, t.type);
      if (!isFlexArray(btf, prev, t.nelems) && idx >= t.nelems) throw bad(`array index ${idx} is out of range: the array has ${t.nelems} elements`);
      spec.accessors.push({ typeId: id, idx, name: undefined });
      spec.bitOffset += idx * sizeOf(btf, id, `relo on [${relo.typeId}]`) * 8;
    } else {
      throw bad(`index ${i} steps into [${id}] ${kindString(t)}, which has neither members nor elements`);
    }
  }
  return spec;
}

/**
 * A spec as libbpf prints it (`bpf_core_format_spec`):
 * `<byte_off> [2] struct foo.in.d (0:2:3 @ offset 24)`, `<byte_off> [2] struct foo.arr[1] (0:3:1 @ offset 48)`,
 * `<rshift_u64> [9] struct inner.c (0:2 @ offset 4.3)`, `<enumval_value> [19] enum e32::B = 2147483648`,
 * `<type_size> [2] struct foo`.
 */
export function formatCoreSpec(spec: CoreSpec): string {
  const t = spec.btf.type(spec.rootTypeId);
  let s = `<${coreReloKindString(spec.kind)}> [${spec.rootTypeId}] ${kindString(t)} ${t.name || "<anon>"}`;
  if (isTypeBased(spec.kind)) return s;
  if (isEnumvalBased(spec.kind)) {
    const [, e] = skipMods(spec.btf, spec.rootTypeId);
    if ((e.kind === "ENUM" || e.kind === "ENUM64") && spec.raw.length > 0) {
      const v = e.values[spec.raw[0]!];
      if (v) s += `::${v.name} = ${enumValueText(e.kind, e.signed, v.value)}`;
    }
    return s;
  }
  if (!isFieldBased(spec.kind)) return s;
  spec.accessors.forEach((a, i) => {
    if (a.name !== undefined) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  const bits = spec.bitOffset % 8;
  const bytes = Math.floor(spec.bitOffset / 8);
  return `${s} (${spec.raw.join(":")} @ offset ${bits ? `${bytes}.${bits}` : bytes})`;
}

/** An enumerator's value as libbpf prints it: `%d`/`%u` (ENUM), `%lld`/`%llu` (ENUM64), by the kind_flag. */
function enumValueText(kind: "ENUM" | "ENUM64", signed: boolean, value: number | bigint): string {
  if (kind === "ENUM") return String(signed ? Number(value) | 0 : Number(value) >>> 0);
  return String(signed ? BigInt.asIntN(64, BigInt(value)) : BigInt.asUintN(64, BigInt(value)));
}

/**
 * The {@link Btf} container: an editable type table with lookup, resolution,
 * size/alignment queries and encoding.
 *
 * @packageDocumentation
 */
import { BtfError } from "./errors.js";
import { encodeBtf, type EncodedBtf } from "./encode.js";
import { essentialName } from "./externs.js";
import { btfInternals } from "./internal.js";
import type { LazyBtfStats, LazyTypes } from "./lazy.js";
import { BtfHeaderLayout } from "./layouts.js";
import { StringTable } from "./strings.js";
import { MODIFIER_KINDS, type BtfKind, type BtfType, type BtfTypeOf } from "./types.js";

/** Options of {@link Btf.encode}. */
export interface BtfEncodeOptions {
  /** Byte order of the output; defaults to {@link Btf.littleEndian}. */
  littleEndian?: boolean;
  /** Strings that must be present in the string table even if no type uses them (e.g. .BTF.ext names). */
  extraStrings?: Iterable<string>;
}

/** Pointer size assumed for BPF targets (libbpf forces 8 for BPF objects). */
export const BTF_PTR_SIZE = 8;

const NO_IDS: readonly number[] = Object.freeze([]);

/**
 * A BTF type table. `types[id]` is the type with that id; `types[0]` is void.
 * Types are plain objects: edit them in place, or append with {@link Btf.add},
 * then {@link Btf.encode}.
 *
 * Split BTF (a kernel module's, on top of vmlinux's; see {@link Btf.split} and `parseBtf(bytes, { base })`)
 * has a {@link Btf.base}: its own types have ids from {@link Btf.startId} on, and ids below are the
 * base's. Everything that follows type ids (`type`, `resolve`, `sizeof`, `alignof`, `formatType`,
 * the value codec, `typesAreCompatible`) crosses into the base; what walks the table (`find`,
 * `findAll`, `nameIndex`, `encode`, the DATASEC fix-up, `variables`, `sanitizeBtf`) sees only the
 * split's own types. A split holds only its own types until {@link Btf.types} is read. The base
 * must not change once a split is built on it.
 *
 * Lazy BTF (`parseBtf(bytes, { lazy: true })`, for kernel BTF) is this class too: its own types are
 * decoded one at a time when `type` (or what follows ids: `resolve`, `sizeof`…) first reaches them,
 * and `find`, `findAll` and `idsByName` search a name index built per kind on first need. What needs
 * the whole table (`types`, `add`, `encode`, `clone`, and through them the DATASEC fix-up,
 * `variables`, `sanitizeBtf`) decodes every type first and from then on holds them as parsed BTF does.
 */
export class Btf {
  /** Byte order the BTF was parsed from (and is encoded in by default). */
  littleEndian: boolean;
  /**
   * The string table of the blob this BTF was parsed from (set by {@link parseBtf});
   * used to resolve `.BTF.ext` string offsets. Not updated by edits or encoding.
   * For split BTF it continues the base's (offsets below its `start` are the base's strings).
   */
  sourceStrings: StringTable | undefined;
  /** Strings always emitted by {@link Btf.encode}, in addition to the types' names. */
  readonly extraStrings: Set<string> = new Set();
  /** For split BTF, the BTF it is split from (vmlinux's for a kernel module); else undefined. */
  readonly base: Btf | undefined;
  /** The first id of this BTF's own types: 1, or for split BTF the base's {@link Btf.count} (libbpf `start_id`). */
  readonly startId: number;
  /** The whole id space, index = id; undefined while a split holds only {@link Btf.#own}. */
  #table: BtfType[] | undefined;
  /** A split's own types (index = id - startId), until {@link Btf.types} is read; else undefined. */
  #own: BtfType[] | undefined;
  /** Lazy BTF: its own types, decoded on demand; undefined (and {@link Btf.#table} or {@link Btf.#own} set) once all are decoded. */
  #lazy: LazyTypes | undefined;
  /** Lazy BTF without a base: type 0. */
  #void: BtfType | undefined;

  static {
    btfInternals.attachLazy = (btf, lazy) => {
      btf.#void = btf.#table?.[0];
      btf.#table = undefined;
      btf.#own = undefined;
      btf.#lazy = lazy;
      return btf;
    };
  }

  /**
   * @param types types from id 1 on (void is prepended), or a full table starting with void;
   *   with `base`, this BTF's own types (ids from `base.count` on).
   * @param littleEndian byte order (default little endian; with `base`, the base's).
   * @param sourceStrings the string table of the parsed blob (see {@link Btf.sourceStrings}).
   * @param base for split BTF, the base (prefer {@link Btf.split}).
   */
  constructor(types: BtfType[] = [], littleEndian?: boolean, sourceStrings?: StringTable, base?: Btf) {
    this.sourceStrings = sourceStrings;
    this.base = base;
    if (base === undefined) {
      this.#table = types[0]?.kind === "VOID" ? types : [{ kind: "VOID", name: "" }, ...types];
      this.startId = 1;
      this.littleEndian = littleEndian ?? true;
    } else {
      if (types.some((t) => t.kind === "VOID")) throw new BtfError("BTF_BAD_KIND", "split BTF cannot hold a VOID type (id 0 is the base's)");
      this.#own = types;
      this.startId = base.count;
      this.littleEndian = littleEndian ?? base.littleEndian;
    }
  }

  /**
   * Split BTF on top of `base` (libbpf `btf__new_empty_split`): `types` (none by default) get ids from
   * `base.count` on and may refer to the base's types; names shared with the base's string table
   * are encoded at the base's offsets.
   */
  static split(base: Btf, types: BtfType[] = [], littleEndian?: boolean): Btf {
    return new Btf(types, littleEndian, undefined, base);
  }

  /**
   * Types by id. Index 0 is `{ kind: "VOID", name: "" }`. For split BTF, the whole id space: the
   * base's types (the same objects) and then its own. A split builds this array on the first read
   * (one reference per base type: about 1 MiB for vmlinux) and keeps its types in it from then on;
   * {@link Btf.type} and the other methods do not need it.
   */
  get types(): BtfType[] {
    this.#materialise();
    if (this.#table === undefined) {
      this.#table = this.base!.types.concat(this.#own!);
      this.#own = undefined;
    }
    return this.#table;
  }

  set types(types: BtfType[]) {
    this.#lazy = undefined;
    this.#table = types;
    this.#own = undefined;
  }

  /** Number of type ids, including void and, for split BTF, the base's (the next free id; libbpf `btf__type_cnt`). */
  get count(): number {
    if (this.#lazy !== undefined) return this.#lazy.count;
    return this.#own === undefined ? this.#table!.length : this.startId + this.#own.length;
  }

  /** The split's own types (ids from {@link Btf.startId} on), without building {@link Btf.types}: a copy. Lazy BTF: decodes them all. */
  ownTypes(): BtfType[] {
    if (this.#lazy !== undefined) return this.#lazy.all();
    return this.#own !== undefined ? this.#own.slice() : this.#table!.slice(this.startId);
  }

  /**
   * Lazy BTF: how many of its own types have been decoded and which kinds' names indexed; undefined
   * for BTF that is not lazy (or no longer: every type decoded by `types`, `add`, `encode` or `clone`).
   */
  lazyStats(): LazyBtfStats | undefined {
    return this.#lazy?.stats();
  }

  /** Lazy BTF: decode every own type and hold them as parsed BTF does (the types decoded before are the same objects). */
  #materialise(): void {
    const lazy = this.#lazy;
    if (lazy === undefined) return;
    const all = lazy.all();
    if (this.base === undefined) {
      all.unshift(this.#void!);
      this.#table = all;
    } else {
      this.#own = all;
    }
    this.#lazy = undefined;
  }

  /** Append a type and return its id. */
  add(type: BtfType): number {
    this.#materialise();
    this.#byName = undefined;
    this.#byEssential = undefined;
    if (type.kind === "VOID") throw new BtfError("BTF_BAD_KIND", "cannot add a VOID type (id 0 is the only void)");
    (this.#own ?? this.#table!).push(type);
    return this.count - 1;
  }

  /** The type with id `id`, or undefined. */
  #at(id: number): BtfType | undefined {
    if (!Number.isInteger(id) || id < 0) return undefined;
    const lazy = this.#lazy;
    if (lazy !== undefined) {
      if (id >= this.startId) return id < lazy.count ? lazy.type(id - this.startId) : undefined;
      return this.base === undefined ? (id === 0 ? this.#void : undefined) : this.base.#at(id);
    }
    const own = this.#own;
    if (own === undefined) return this.#table![id];
    return id >= this.startId ? own[id - this.startId] : this.base!.#at(id);
  }

  /** Make sure `s` is in the encoded string table (e.g. a .BTF.ext section or file name). */
  addString(s: string): void { this.extraStrings.add(s); }

  /**
   * The type with id `id`; with `kind`, also checks its kind.
   * @throws BtfError `BTF_BAD_TYPE_ID` for an id outside the table, `BTF_BAD_KIND` on a kind mismatch.
   */
  type(id: number): BtfType;
  type<K extends BtfKind>(id: number, kind: K): BtfTypeOf<K>;
  type(id: number, kind?: BtfKind): BtfType {
    const t = this.#at(id);
    if (!t) throw new BtfError("BTF_BAD_TYPE_ID", `type id ${id} is out of range (0..${this.count - 1})`, { btfTypeId: id });
    if (kind !== undefined && t.kind !== kind) {
      throw new BtfError("BTF_BAD_KIND", `type [${id}] ${t.name ? `'${t.name}' ` : ""}is ${t.kind}, expected ${kind}`, { btfTypeId: id, btfKind: t.kind });
    }
    return t;
  }

  /**
   * Id of the first type named `name` (optionally of `kind`), or undefined. Linear scan (lazy BTF: its
   * name index): use {@link Btf.idsByName} for repeated lookups. Split BTF: its own types only (libbpf
   * `btf__find_by_name_kind_own`); search `base` for the others.
   */
  find(name: string, kind?: BtfKind): number | undefined {
    if (this.#lazy !== undefined) return this.#lazy.idsByName(name, kind)[0];
    const [ts, first] = this.#ownSpan();
    const off = this.startId - first;
    for (let i = first; i < ts.length; i++) {
      const t = ts[i]!;
      if (t.name === name && (kind === undefined || t.kind === kind)) return i + off;
    }
    return undefined;
  }

  /** Ids of every type named `name` (optionally of `kind`); split BTF: its own types only. */
  findAll(name: string, kind?: BtfKind): number[] {
    if (this.#lazy !== undefined) return this.#lazy.idsByName(name, kind).slice();
    const out: number[] = [];
    const [ts, first] = this.#ownSpan();
    const off = this.startId - first;
    for (let i = first; i < ts.length; i++) {
      const t = ts[i]!;
      if (t.name === name && (kind === undefined || t.kind === kind)) out.push(i + off);
    }
    return out;
  }

  /**
   * Ids of this BTF's own types named `name` (of `kind`, when given), ascending (empty when none),
   * from an index built on the first call and kept until a type is added: for repeated lookups
   * (CO-RE candidates, extern resolution). Lazy BTF indexes the names of one kind at a time, from
   * their bytes: with `kind`, the first lookup costs only that kind's names (vmlinux: ~10k STRUCTs,
   * ~56k FUNCs of ~127k types). Do not modify the array.
   */
  idsByName(name: string, kind?: BtfKind): readonly number[] {
    if (this.#lazy !== undefined) return this.#lazy.idsByName(name, kind);
    this.#byName ??= this.nameIndex();
    const ids = this.#byName.get(name);
    if (ids === undefined) return NO_IDS;
    if (kind === undefined) return ids;
    const of = ids.filter((id) => this.#at(id)!.kind === kind);
    return of.length === 0 ? NO_IDS : of;
  }
  #byName: Map<string, number[]> | undefined;

  /**
   * Ids of this BTF's own types whose essential name (libbpf `bpf_core_essential_name_len`: the name
   * without a `___flavour` suffix, see `essentialName`) is `essential`: the type named so and the
   * flavoured ones (`nf_conn___init` for `nf_conn`), ascending; with `kind`, of that kind only. For
   * CO-RE candidates (libbpf `bpf_core_add_cands`). Lazy BTF looks for `___` in the bytes of the names
   * of `kind` (of every kind without one) and decodes only those names, no type. Do not modify the array.
   */
  idsByEssentialName(essential: string, kind?: BtfKind): readonly number[] {
    const plain = essential !== "" && essentialName(essential) === essential ? this.idsByName(essential, kind) : NO_IDS;
    let flavoured: readonly number[];
    if (this.#lazy !== undefined) {
      flavoured = this.#lazy.flavouredIds(essential, kind);
    } else {
      if (this.#byEssential === undefined) {
        this.#byName ??= this.nameIndex();
        this.#byEssential = new Map();
        for (const name of this.#byName.keys()) {
          if (!name.includes("___")) continue;
          const e = essentialName(name);
          if (e === name) continue;
          const l = this.#byEssential.get(e);
          if (l) l.push(name); else this.#byEssential.set(e, [name]);
        }
      }
      const out: number[] = [];
      for (const name of this.#byEssential.get(essential) ?? []) out.push(...this.idsByName(name, kind));
      flavoured = out.sort((a, b) => a - b);
    }
    if (flavoured.length === 0) return plain;
    if (plain.length === 0) return flavoured;
    return [...plain, ...flavoured].sort((a, b) => a - b);
  }
  /** Names with a flavour suffix, by essential name (eager BTF; from the name index). */
  #byEssential: Map<string, string[]> | undefined;

  /** A snapshot map from name to type ids (anonymous types left out; split BTF: its own types only). Not updated by later edits. */
  nameIndex(): Map<string, number[]> {
    if (this.#lazy !== undefined) return this.#lazy.nameIndex();
    const m = new Map<string, number[]>();
    const [ts, first] = this.#ownSpan();
    const off = this.startId - first;
    for (let i = first; i < ts.length; i++) {
      const n = ts[i]!.name;
      if (!n) continue;
      const l = m.get(n);
      if (l) l.push(i + off); else m.set(n, [i + off]);
    }
    return m;
  }

  /** The array holding this BTF's own types and the index of the first one in it. */
  #ownSpan(): [BtfType[], number] {
    this.#materialise();
    return this.#own !== undefined ? [this.#own, 0] : [this.#table!, this.startId];
  }

  /**
   * Follow TYPEDEF, VOLATILE, CONST, RESTRICT and TYPE_TAG to the first other type; returns its id.
   * @throws BtfError `BTF_LOOP` if the chain loops, `BTF_BAD_TYPE_ID` on a dangling reference.
   */
  resolve(id: number): number {
    const start = id;
    for (let steps = 0; ; steps++) {
      const t = this.type(id);
      if (!MODIFIER_KINDS.has(t.kind)) return id;
      if (steps > this.count) throw loop(start, t.kind);
      id = (t as { type: number }).type;
    }
  }

  /** {@link Btf.resolve}, returning the type object. */
  resolveType(id: number): BtfType { return this.type(this.resolve(id)); }

  /**
   * Size in bytes of a value of type `id` (like libbpf's `btf__resolve_size`): follows
   * modifiers and VARs, multiplies arrays, pointers are {@link BTF_PTR_SIZE}.
   * @throws BtfError `BTF_NO_SIZE` for void, functions, forward declarations and tags; `BTF_LOOP`.
   */
  sizeof(id: number): number {
    const start = id;
    let mult = 1;
    for (let steps = 0; ; steps++) {
      const t = this.type(id);
      if (steps > this.count) throw loop(start, t.kind);
      switch (t.kind) {
        case "INT": case "ENUM": case "ENUM64": case "STRUCT": case "UNION": case "DATASEC": case "FLOAT":
          return checkedSize(mult * t.size, start);
        case "PTR":
          return checkedSize(mult * BTF_PTR_SIZE, start);
        case "TYPEDEF": case "VOLATILE": case "CONST": case "RESTRICT": case "TYPE_TAG": case "VAR":
          id = t.type;
          break;
        case "ARRAY":
          mult = checkedSize(mult * t.nelems, start);
          id = t.type;
          break;
        default:
          throw new BtfError("BTF_NO_SIZE", `type [${id}] ${t.kind}${t.name ? ` '${t.name}'` : ""} has no size`, { btfTypeId: id, btfKind: t.kind });
      }
    }
  }

  /**
   * Natural alignment in bytes of type `id` (like libbpf's `btf__align_of`): a packed
   * struct (a member not at a multiple of its alignment, or a size not a multiple of the
   * largest alignment) has alignment 1.
   * @throws BtfError `BTF_NO_SIZE` for types without a size, `BTF_LOOP` for recursive types.
   */
  alignof(id: number): number { return this.#alignof(id, new Set()); }

  #alignof(id: number, active: Set<number>): number {
    const start = id;
    for (let steps = 0; ; steps++) {
      const t = this.type(id);
      if (steps > this.count) throw loop(start, t.kind);
      switch (t.kind) {
        case "INT": case "ENUM": case "ENUM64": case "FLOAT":
          return Math.max(1, Math.min(t.size, BTF_PTR_SIZE));
        case "PTR":
          return BTF_PTR_SIZE;
        case "TYPEDEF": case "VOLATILE": case "CONST": case "RESTRICT": case "TYPE_TAG": case "VAR": case "ARRAY":
          id = t.type;
          break;
        case "STRUCT": case "UNION": {
          if (active.has(id)) throw loop(id, t.kind);
          active.add(id);
          let max = 1;
          for (const m of t.members) {
            const a = this.#alignof(m.type, active);
            if (m.bitSize === 0 && m.bitOffset % (8 * a) !== 0) { max = -1; break; }
            max = Math.max(max, a);
          }
          active.delete(id);
          if (max < 0 || t.size % max !== 0) return 1;
          return max;
        }
        default:
          throw new BtfError("BTF_NO_SIZE", `type [${id}] ${t.kind}${t.name ? ` '${t.name}'` : ""} has no alignment`, { btfTypeId: id, btfKind: t.kind });
      }
    }
  }

  /**
   * Encode to the `.BTF` wire format with a fresh, deduplicated string table. Split BTF: its own
   * types only, as split BTF (strings the base has are referred to at the base's offsets, see
   * {@link Btf.strings}; the others follow the base's string table).
   * @throws BtfError `BTF_INVALID` when the base gained types after the split was made.
   */
  encode(options: BtfEncodeOptions = {}): Uint8Array {
    return this.encodeWithStrings(options).bytes;
  }

  /** Like {@link Btf.encode}, also returning the string offsets (for encoding .BTF.ext against it). */
  encodeWithStrings(options: BtfEncodeOptions = {}): EncodedBtf {
    return this.#encode(options, this.base?.strings());
  }

  #encode(options: BtfEncodeOptions, baseStrings: StringTable | undefined): EncodedBtf {
    this.#materialise();
    const extra = options.extraStrings ? [...this.extraStrings, ...options.extraStrings] : this.extraStrings;
    const le = options.littleEndian ?? this.littleEndian;
    const base = this.base;
    if (base === undefined || baseStrings === undefined) return encodeBtf(this.#table!, le, extra);
    if (base.count !== this.startId) {
      throw new BtfError("BTF_INVALID", `split BTF starts at type id ${this.startId}, but its base now has ${base.count} type ids: a base must not change once a split is built on it`);
    }
    const [ts, first] = this.#ownSpan();
    return encodeBtf(first === 0 ? ts : ts.slice(first), le, extra, { startId: this.startId, baseStrings });
  }

  /**
   * The string table string offsets refer to, in this BTF and in split BTF built on it: the table of
   * the blob it was parsed from ({@link Btf.sourceStrings}), or, for BTF built in memory, the table
   * {@link Btf.encode} writes (computed on each call). For split BTF it continues the base's.
   */
  strings(): StringTable {
    if (this.sourceStrings) return this.sourceStrings;
    const baseStrings = this.base?.strings();
    const bytes = this.#encode({}, baseStrings).bytes;
    const h = BtfHeaderLayout.read(bytes, 0, this.littleEndian);
    const start = h.hdr_len + h.str_off;
    return new StringTable(bytes.subarray(start, start + h.str_len), baseStrings);
  }

  /** A deep copy (types are structured-cloned; split BTF: its own types, on the same base). */
  clone(): Btf {
    this.#materialise();
    const b = new Btf(cloneTypes(this.base === undefined ? this.#table! : this.ownTypes()), this.littleEndian, undefined, this.base);
    for (const s of this.extraStrings) b.extraStrings.add(s);
    return b;
  }
}

/** Deep copy of a type table (plain data: arrays, objects, numbers, bigints, strings, booleans). */
export function cloneTypes(types: readonly BtfType[]): BtfType[] {
  return types.map((t) => deepCopy(t) as BtfType);
}

function deepCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deepCopy);
  if (v !== null && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = deepCopy(x);
    return o;
  }
  return v;
}

function loop(id: number, kind: string): BtfError {
  return new BtfError("BTF_LOOP", `type [${id}]: reference chain loops`, { btfTypeId: id, btfKind: kind });
}

function checkedSize(n: number, id: number): number {
  if (n > 0xffffffff) throw new BtfError("BTF_INVALID", `type [${id}]: size ${n} does not fit in 32 bits`, { btfTypeId: id });
  return n;
}

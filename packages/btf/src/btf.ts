/**
 * The {@link Btf} container: an editable type table with lookup, resolution,
 * size/alignment queries and encoding.
 *
 * @packageDocumentation
 */
import { BtfError } from "./errors.js";
import { encodeBtf, type EncodedBtf } from "./encode.js";
import type { StringTable } from "./strings.js";
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

/**
 * A BTF type table. `types[id]` is the type with that id; `types[0]` is void.
 * Types are plain objects: edit them in place, or append with {@link Btf.add},
 * then {@link Btf.encode}.
 */
export class Btf {
  /** Types by id. Index 0 is `{ kind: "VOID", name: "" }`. */
  types: BtfType[];
  /** Byte order the BTF was parsed from (and is encoded in by default). */
  littleEndian: boolean;
  /**
   * The string table of the blob this BTF was parsed from (set by {@link parseBtf});
   * used to resolve `.BTF.ext` string offsets. Not updated by edits or encoding.
   */
  sourceStrings: StringTable | undefined;
  /** Strings always emitted by {@link Btf.encode}, in addition to the types' names. */
  readonly extraStrings: Set<string> = new Set();

  /**
   * @param types types from id 1 on (void is prepended), or a full table starting with void.
   * @param littleEndian byte order (default little endian).
   */
  constructor(types: BtfType[] = [], littleEndian = true, sourceStrings?: StringTable) {
    this.sourceStrings = sourceStrings;
    this.types = types[0]?.kind === "VOID" ? types : [{ kind: "VOID", name: "" }, ...types];
    this.littleEndian = littleEndian;
  }

  /** Number of type ids, including void (the next free id). */
  get count(): number { return this.types.length; }

  /** Append a type and return its id. */
  add(type: BtfType): number {
    if (type.kind === "VOID") throw new BtfError("BTF_BAD_KIND", "cannot add a VOID type (id 0 is the only void)");
    this.types.push(type);
    return this.types.length - 1;
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
    const t = Number.isInteger(id) && id >= 0 ? this.types[id] : undefined;
    if (!t) throw new BtfError("BTF_BAD_TYPE_ID", `type id ${id} is out of range (0..${this.types.length - 1})`, { btfTypeId: id });
    if (kind !== undefined && t.kind !== kind) {
      throw new BtfError("BTF_BAD_KIND", `type [${id}] ${t.name ? `'${t.name}' ` : ""}is ${t.kind}, expected ${kind}`, { btfTypeId: id, btfKind: t.kind });
    }
    return t;
  }

  /** Id of the first type named `name` (optionally of `kind`), or undefined. Linear scan: use {@link Btf.nameIndex} for bulk lookups. */
  find(name: string, kind?: BtfKind): number | undefined {
    const ts = this.types;
    for (let i = 1; i < ts.length; i++) {
      const t = ts[i]!;
      if (t.name === name && (kind === undefined || t.kind === kind)) return i;
    }
    return undefined;
  }

  /** Ids of every type named `name` (optionally of `kind`). */
  findAll(name: string, kind?: BtfKind): number[] {
    const out: number[] = [];
    const ts = this.types;
    for (let i = 1; i < ts.length; i++) {
      const t = ts[i]!;
      if (t.name === name && (kind === undefined || t.kind === kind)) out.push(i);
    }
    return out;
  }

  /** A snapshot map from name to type ids (anonymous types left out). Not updated by later edits. */
  nameIndex(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    const ts = this.types;
    for (let i = 1; i < ts.length; i++) {
      const n = ts[i]!.name;
      if (!n) continue;
      const l = m.get(n);
      if (l) l.push(i); else m.set(n, [i]);
    }
    return m;
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
      if (steps > this.types.length) throw loop(start, t.kind);
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
      if (steps > this.types.length) throw loop(start, t.kind);
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
      if (steps > this.types.length) throw loop(start, t.kind);
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

  /** Encode to the `.BTF` wire format with a fresh, deduplicated string table. */
  encode(options: BtfEncodeOptions = {}): Uint8Array {
    return this.encodeWithStrings(options).bytes;
  }

  /** Like {@link Btf.encode}, also returning the string offsets (for encoding .BTF.ext against it). */
  encodeWithStrings(options: BtfEncodeOptions = {}): EncodedBtf {
    const extra = options.extraStrings ? [...this.extraStrings, ...options.extraStrings] : this.extraStrings;
    return encodeBtf(this.types, options.littleEndian ?? this.littleEndian, extra);
  }

  /** A deep copy (types are structured-cloned). */
  clone(): Btf {
    const b = new Btf(cloneTypes(this.types), this.littleEndian);
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

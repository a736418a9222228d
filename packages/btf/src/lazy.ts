/**
 * Lazy BTF (`parseBtf(bytes, { lazy: true })`): an index over the raw bytes, as libbpf's `btf__new`
 * builds. Opening walks the type section once, checking each record's structure and recording
 * where it starts (libbpf's `type_offs`); a type is decoded when it is first asked for and kept;
 * names are hashed from their raw bytes, per kind, the first time a name of that kind is looked up.
 *
 * @internal
 * @packageDocumentation
 */
import { Btf } from "./btf.js";
import { checkRecordHead, checkRefsFrom, decoded, decodeTypeAt, EXTRA_FIXED, EXTRA_PER_VLEN, INFO_ALLOWED } from "./decode.js";
import { BtfError } from "./errors.js";
import { essentialName } from "./externs.js";
import { btfInternals } from "./internal.js";
import { hashName, hasTripleUnderscore, NAME_BAD, NAME_EMPTY, NAME_NON_ASCII, type NameKey, nameKey } from "./names.js";
import type { StringTable } from "./strings.js";
import { BTF_KIND_NAMES, type BtfKind, type BtfType, BtfKindId } from "./types.js";

const KIND_COUNT = BTF_KIND_NAMES.length;
const FUNC = BtfKindId.FUNC;
const NO_IDS: readonly number[] = Object.freeze([]);

/** What a lazy BTF has done so far (see {@link Btf.lazyStats}). */
export interface LazyBtfStats {
  /** Own types (ids from `startId` on). */
  readonly types: number;
  /** How many of them have been decoded into objects. */
  readonly decoded: number;
  /** The kinds whose names have been indexed. */
  readonly indexedKinds: readonly BtfKind[];
}

/**
 * Record offsets below 2^27 (any blob under 128 MiB) are kept with the kind number in the top 5 bits
 * of the same word: the kinds cost the open nothing.
 */
const OFF_BITS = 27;
const OFF_MASK = (1 << OFF_BITS) - 1;

/** Decoded types are kept in chunks of this many (one array of all would be slow to make for vmlinux's ~127k). */
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;

/** The name index of one kind: a hash table over that kind's named types. */
interface KindIndex {
  /** Buckets (a power of two): entry + 1 of the first in the bucket, 0 when empty. */
  readonly head: Int32Array;
  /** By entry: the own index of the type, its name's hash, and the next entry + 1 in its bucket. */
  readonly own: Int32Array;
  readonly hash: Int32Array;
  readonly next: Int32Array;
  /** The number of entries. */
  used: number;
  /** Ids of the types with a flavoured name (`x___y`), by essential name; made on first need. */
  byEssential?: Map<string, number[]>;
}
const emptyIndex = (): KindIndex => ({ head: new Int32Array(0), own: new Int32Array(0), hash: new Int32Array(0), next: new Int32Array(0), used: 0 });

/**
 * The own types of a lazy {@link Btf}: by index `i` (type id `startId + i`), the record's byte offset,
 * recorded at open; the decoded type once asked for.
 */
export class LazyTypes {
  /** Own types. */
  readonly n: number;
  /** The first own id (1, or a split's base count). */
  readonly startId: number;
  /** The number of type ids (base's and own, void included): references must be below it. */
  readonly count: number;
  readonly strings: StringTable;
  readonly #dv: DataView;
  readonly #le: boolean;
  readonly #tEnd: number;
  /**
   * Byte offset of each own type's record in {@link LazyTypes.#dv}, with its kind number above
   * {@link OFF_BITS} unless {@link LazyTypes.#kinds} holds the kinds (a blob of 128 MiB or more).
   */
  readonly #offs: Uint32Array;
  readonly #kinds: Uint8Array | undefined;
  /** The blob's own string section (names are hashed from it directly), and a view of it. */
  readonly #str: Uint8Array;
  readonly #strView: DataView;
  /** Decoded types, by own index, in chunks made on first need. */
  readonly #cache: ((BtfType | undefined)[] | undefined)[];
  #decoded = 0;
  /** Name index, by kind number, made per kind on first need. */
  readonly #index: (KindIndex | undefined)[] = new Array(KIND_COUNT).fill(undefined);

  constructor(dv: DataView, le: boolean, tEnd: number, offs: Uint32Array, kinds: Uint8Array | undefined, startId: number, strBytes: Uint8Array, strings: StringTable) {
    this.#dv = dv;
    this.#le = le;
    this.#tEnd = tEnd;
    this.#offs = offs;
    this.#kinds = kinds;
    this.n = offs.length;
    this.startId = startId;
    this.count = startId + offs.length;
    this.#str = strBytes;
    this.#strView = new DataView(strBytes.buffer, strBytes.byteOffset, strBytes.byteLength);
    this.strings = strings;
    this.#cache = new Array((offs.length + CHUNK - 1) >> CHUNK_BITS).fill(undefined);
  }

  /** Own type `i` (id `startId + i`, `0 <= i < n`), decoded on first access. */
  type(i: number): BtfType {
    const chunk = (this.#cache[i >> CHUNK_BITS] ??= new Array(Math.min(CHUNK, this.n)).fill(undefined));
    return chunk[i & (CHUNK - 1)] ?? this.#decode(i, chunk);
  }

  #decode(i: number, chunk: (BtfType | undefined)[]): BtfType {
    const id = this.startId + i;
    const t = decodeTypeAt(this.#dv, this.#le, this.#off(i), this.#tEnd, id, this.strings);
    if (decoded.maxRef >= this.count) checkRefsFrom([t], id, this.count); // throws, naming the reference
    chunk[i & (CHUNK - 1)] = t;
    this.#decoded++;
    return t;
  }

  /** Byte offset of own type `i`'s record. */
  #off(i: number): number { return this.#kinds === undefined ? this.#offs[i]! & OFF_MASK : this.#offs[i]!; }


  /** Every own type, decoded (those decoded before are the same objects), in id order. */
  all(): BtfType[] {
    const out: BtfType[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.type(i));
    return out;
  }

  stats(): LazyBtfStats {
    return { types: this.n, decoded: this.#decoded, indexedKinds: BTF_KIND_NAMES.filter((_k, i) => this.#index[i] !== undefined) };
  }

  /** Ids of the own types named `name` (of `kind`), ascending; indexes the names of `kind` (or of every kind) first if not yet done. */
  idsByName(name: string, kind?: BtfKind): readonly number[] {
    if (name === "" || name.includes("\0")) return NO_IDS; // no BTF name is empty or holds a NUL
    const key = nameKey(name);
    if (kind !== undefined) {
      const k = BtfKindId[kind];
      if (k === undefined || k === 0) return NO_IDS;
      if (this.#index[k] === undefined) this.#build(1 << k);
      return this.#probe(this.#index[k]!, key, undefined) ?? NO_IDS;
    }
    let missing = 0;
    for (let k = 1; k < KIND_COUNT; k++) if (this.#index[k] === undefined) missing |= 1 << k;
    if (missing !== 0) this.#build(missing);
    let out: number[] | undefined;
    let kinds = 0;
    for (let k = 1; k < KIND_COUNT; k++) {
      const before = out?.length ?? 0;
      out = this.#probe(this.#index[k]!, key, out);
      if ((out?.length ?? 0) > before) kinds++;
    }
    if (out === undefined) return NO_IDS;
    return kinds > 1 ? out.sort((a, b) => a - b) : out;
  }

  /** Append the ids named `key` in `ix` to `out` (made when the first is found). */
  #probe(ix: KindIndex, key: NameKey, out: number[] | undefined): number[] | undefined {
    const head = ix.head;
    if (head.length === 0) return out;
    const strs = this.strings;
    const h = key.hash;
    for (let e = head[h & (head.length - 1)]!; e !== 0; e = ix.next[e - 1]!) {
      if (ix.hash[e - 1] !== h) continue;
      const i = ix.own[e - 1]!;
      if (!strs.nameEquals(this.#dv.getUint32(this.#off(i), this.#le), key)) continue;
      (out ??= []).push(this.startId + i);
    }
    return out;
  }

  /**
   * Index the names of the own types whose kind number's bit is set in `mask` (kinds indexed already
   * must not be in it): one pass over the types (the first also records every type's kind), names
   * hashed from their bytes, then a hash table per kind.
   * @throws BtfError `BTF_BAD_STRING` for a name offset outside the string table (naming the type).
   */
  #build(mask: number): void {
    const n = this.n;
    const dv = this.#dv;
    const le = this.#le;
    const offs = this.#offs;
    const kinds = this.#kinds;
    const strs = this.strings;
    const str = this.#str;
    const strView = this.#strView;
    const strStart = strs.start;
    if (this.#kindCounts === undefined) {
      const counts = new Int32Array(32);
      if (kinds === undefined) for (let i = 0; i < n; i++) counts[offs[i]! >>> OFF_BITS]!++;
      else for (let i = 0; i < n; i++) counts[kinds[i]!]!++;
      this.#kindCounts = counts;
    }
    // Per kind asked for, room for all its types (anonymous ones are left out, so some stays unused).
    const made: (KindIndex | undefined)[] = new Array(KIND_COUNT).fill(undefined);
    for (let k = 1; k < KIND_COUNT; k++) {
      if ((mask & (1 << k)) === 0) continue;
      const c = this.#kindCounts[k]!;
      // Buckets: a power of two, at least twice the entries.
      made[k] = c === 0 ? emptyIndex() : { head: new Int32Array(1 << (32 - Math.clz32(2 * c - 1))), own: new Int32Array(c), hash: new Int32Array(c), next: new Int32Array(c), used: 0 };
    }
    // Backwards, so that each bucket lists its types in ascending id order.
    for (let i = n - 1; i >= 0; i--) {
      const o = offs[i]!;
      const k = kinds === undefined ? o >>> OFF_BITS : kinds[i]!;
      if ((mask & (1 << k)) === 0) continue;
      const nameOff = dv.getUint32(kinds === undefined ? o & OFF_MASK : o, le);
      if (nameOff === 0) continue;
      const rel = nameOff - strStart;
      let h: number;
      if (rel >= 0 && rel < str.length) {
        if (str[rel] === 0) continue;
        h = hashName(strView, str, rel);
        if (h === NAME_NON_ASCII) h = strs.nameHash(nameOff);
      } else {
        h = strs.nameHash(nameOff); // the base's string, or none
        if (h === NAME_EMPTY) continue;
      }
      if (h === NAME_BAD) {
        strs.get(nameOff, `type [${this.startId + i}] name`); // throws with the decoder's message
        throw new BtfError("BTF_BAD_STRING", `type [${this.startId + i}] name: bad string offset ${nameOff}`, { offset: nameOff });
      }
      const ix = made[k]!;
      const e = ix.used++;
      const b = h & (ix.head.length - 1);
      ix.own[e] = i;
      ix.hash[e] = h;
      ix.next[e] = ix.head[b]!;
      ix.head[b] = e + 1;
    }
    for (let k = 1; k < KIND_COUNT; k++) if (made[k] !== undefined) this.#index[k] = made[k];
  }
  #kindCounts: Int32Array | undefined;

  /**
   * Ids of the own types (of `kind`) whose name has a `___flavour` suffix and whose essential name is
   * `essential`, ascending. The first call for a kind indexes its names if need be, then looks for
   * `___` in each of them (in the bytes) and decodes only those names.
   */
  flavouredIds(essential: string, kind?: BtfKind): readonly number[] {
    if (kind === undefined) {
      let missing = 0;
      for (let k = 1; k < KIND_COUNT; k++) if (this.#index[k] === undefined) missing |= 1 << k;
      if (missing !== 0) this.#build(missing); // every kind in one pass
      let out: number[] | undefined;
      for (const k of BTF_KIND_NAMES.slice(1)) {
        const ids = this.flavouredIds(essential, k);
        if (ids.length > 0) (out ??= []).push(...ids);
      }
      return out === undefined ? NO_IDS : out.sort((a, b) => a - b);
    }
    const k = BtfKindId[kind];
    if (k === undefined || k === 0) return NO_IDS;
    if (this.#index[k] === undefined) this.#build(1 << k);
    const ix = this.#index[k]!;
    if (ix.byEssential === undefined) {
      const m = new Map<string, number[]>();
      const str = this.#str;
      const strStart = this.strings.start;
      // Entries are in descending id order: backwards for ascending lists.
      for (let e = ix.used - 1; e >= 0; e--) {
        const i = ix.own[e]!;
        const nameOff = this.#dv.getUint32(this.#off(i), this.#le);
        const rel = nameOff - strStart;
        if (rel >= 0 ? !hasTripleUnderscore(str, rel) : !this.strings.get(nameOff).includes("___")) continue;
        const name = this.strings.get(nameOff);
        const ess = essentialName(name);
        if (ess === name) continue;
        const l = m.get(ess);
        if (l) l.push(this.startId + i); else m.set(ess, [this.startId + i]);
      }
      ix.byEssential = m;
    }
    return ix.byEssential.get(essential) ?? NO_IDS;
  }

  /** A map from every own name to its ids (what {@link Btf.nameIndex} returns), names decoded, types not. */
  nameIndex(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    const strs = this.strings;
    for (let i = 0; i < this.n; i++) {
      const id = this.startId + i;
      const nameOff = this.#dv.getUint32(this.#off(i), this.#le);
      const name = strs.get(nameOff, () => `type [${id}] name`);
      if (!name) continue;
      const l = m.get(name);
      if (l) l.push(id); else m.set(name, [id]);
    }
    return m;
  }
}

/**
 * Open a blob lazily (for {@link parseBtf} with `lazy`, after the header and string section checks):
 * one pass over the type section, checking each record's `btf_type` (kind, reserved bits,
 * kind_flag, vlen, FUNC linkage) and that it fits, recording its offset and kind.
 */
export function openLazyBtf(bytes: Uint8Array, le: boolean, tStart: number, tEnd: number, strBytes: Uint8Array, strs: StringTable, base: Btf | undefined): Btf {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const startId = base === undefined ? 1 : base.count;
  // Kernel BTF averages ~25 bytes a record: room for most blobs' types at once, doubled when short.
  let cap = 16 + ((tEnd - tStart) >>> 4);
  let offs = new Uint32Array(cap);
  // Kinds in the offsets' top bits; for a blob too large for that, in an array of their own.
  const packed = tEnd <= OFF_MASK;
  let kinds = packed ? undefined : new Uint8Array(cap);
  let n = 0;
  for (let off = tStart; off < tEnd; n++) {
    let len = -1;
    let k = 0;
    if (off + 12 <= tEnd) {
      const info = dv.getUint32(off + 4, le);
      k = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const allowed = INFO_ALLOWED[k]!;
      len = 12 + EXTRA_FIXED[k]! + EXTRA_PER_VLEN[k]! * vlen;
      if (allowed === 0 || (info & ~allowed) !== 0 || off + len > tEnd || (k === FUNC && vlen > 2)) len = -1;
    }
    if (len < 0) {
      checkRecordHead(dv, le, off, tEnd, startId + n, strs); // throws the eager parser's error for this record
      throw new BtfError("BTF_INVALID", `type [${startId + n}] at offset ${off} is malformed`, { btfTypeId: startId + n, offset: off });
    }
    if (n === cap) {
      const grown = new Uint32Array(cap * 2);
      grown.set(offs);
      offs = grown;
      if (kinds !== undefined) {
        const grownKinds = new Uint8Array(cap * 2);
        grownKinds.set(kinds);
        kinds = grownKinds;
      }
      cap *= 2;
    }
    if (kinds === undefined) offs[n] = off | (k << OFF_BITS);
    else {
      offs[n] = off;
      kinds[n] = k;
    }
    off += len;
  }
  const lazy = new LazyTypes(dv, le, tEnd, offs.subarray(0, n), kinds?.subarray(0, n), startId, strBytes, strs);
  return btfInternals.attachLazy!(new Btf([], le, strs, base), lazy);
}

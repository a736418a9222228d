/**
 * BTF string tables: a bounds-checked reader and a deduplicating builder.
 *
 * @packageDocumentation
 */
import { BtfError } from "./errors.js";
import { hashName, NAME_BAD, NAME_EMPTY, NAME_NON_ASCII, type NameKey, nameKey } from "./names.js";
import { latin1Decoder as latin1, utf8Decoder as utf8, utf8Encoder as utf8enc } from "./text.js";

/**
 * Read-only view of a string table (`str_off`/`str_len` of a BTF blob).
 *
 * The table of split BTF (a kernel module's, on top of vmlinux's) continues its base's: with a
 * `base`, offsets below {@link StringTable.start} (the end of the base's string space) are the
 * base's strings, and `start + i` is byte `i` of this table (libbpf `btf__str_by_offset`).
 */
/** Tables up to this many bytes are searched by {@link StringTable.offsetOf} rather than indexed. */
const SEARCH_LIMIT = 64 * 1024;

export class StringTable {
  readonly #bytes: Uint8Array;
  /**
   * The whole table decoded one byte per character, so byte offsets are string indexes; for a table
   * made with `onDemand`, undefined until {@link StringTable.offsetOf} needs it.
   */
  #text: string | undefined;
  #ascii: boolean | undefined;
  /** Offset of this table's first byte in the string space (0 without a base). */
  readonly #start: number;
  readonly #base: StringTable | undefined;
  /** String → offset, built on the first {@link StringTable.offsetOf}. */
  #index: Map<string, number> | undefined;
  /** A view of the bytes for {@link StringTable.nameHash}, made on its first call. */
  #view: DataView | undefined;

  /**
   * @param bytes exactly the string section.
   * @param base the base's string table, for split BTF: this table's offsets start where the base's end.
   * @param onDemand decode each string when it is looked up instead of the whole table now (for
   *   large tables of which few strings are read: kernel BTF opened lazily).
   */
  constructor(bytes: Uint8Array, base?: StringTable, onDemand = false) {
    this.#bytes = bytes;
    this.#base = base;
    this.#start = base === undefined ? 0 : base.end;
    if (!onDemand) this.#decodeAll();
  }

  #decodeAll(): string {
    const bytes = this.#bytes;
    this.#text = latin1.decode(bytes);
    if (this.#ascii === undefined) {
      let ascii = true;
      for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) { ascii = false; break; }
      this.#ascii = ascii;
    }
    return this.#text;
  }

  /** The string at `offset`, or undefined when the offset is outside the table or the string is unterminated. */
  lookup(offset: number): string | undefined {
    if (offset === 0) return "";
    if (offset < this.#start) return this.#base!.lookup(offset);
    offset -= this.#start;
    if (offset >= this.#bytes.length) return undefined;
    if (this.#text === undefined) return this.#decodeOne(offset);
    const end = this.#text.indexOf("\0", offset);
    if (end < 0) return undefined;
    if (this.#ascii) return this.#text.slice(offset, end);
    const s = this.#text.slice(offset, end);
    // eslint-disable-next-line no-control-regex
    return /[^\x00-\x7f]/.test(s) ? utf8.decode(this.#bytes.subarray(offset, end)) : s;
  }

  /** The string at `rel` (in range) read from the bytes alone; undefined when unterminated. */
  #decodeOne(rel: number): string | undefined {
    const b = this.#bytes;
    let end = rel;
    let high = 0;
    for (; end < b.length; end++) {
      const c = b[end]!;
      if (c === 0) break;
      high |= c;
    }
    if (end >= b.length) return undefined;
    if (high >= 0x80) return utf8.decode(b.subarray(rel, end));
    // Short ASCII strings (names) are cheapest as char codes; long ones through the decoder.
    if (end - rel <= 256) return String.fromCharCode.apply(null, b.subarray(rel, end) as unknown as number[]);
    return latin1.decode(b.subarray(rel, end));
  }

  /** Size of this table in bytes (without the base's). */
  get length(): number { return this.#bytes.length; }

  /** Offset of this table's first byte: the end of the base's string space, 0 without a base. */
  get start(): number { return this.#start; }

  /** The end of the string space: {@link StringTable.start} + {@link StringTable.length} (what a split on top of this one starts at). */
  get end(): number { return this.#start + this.#bytes.length; }

  /** The base's table (split BTF), or undefined. */
  get base(): StringTable | undefined { return this.#base; }

  /** Whether every byte of this table (not the base's) is ASCII (then byte offsets and string indexes agree). */
  get ascii(): boolean {
    if (this.#ascii === undefined) {
      let ascii = true;
      const bytes = this.#bytes;
      for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) { ascii = false; break; }
      this.#ascii = ascii;
    }
    return this.#ascii;
  }

  /**
   * Offset of `s` as a whole string (one that starts after a NUL): the base's first, as libbpf's
   * `btf__find_str`, then the first in this table; undefined when absent. The first call indexes the table.
   */
  offsetOf(s: string): number | undefined {
    if (s === "") return 0;
    const b = this.#base?.offsetOf(s);
    if (b !== undefined) return b;
    const text = this.#text ?? this.#decodeAll();
    // An object's table (a few KiB, a few dozen lookups per load: line info) is searched; indexing it
    // would cost more than the lookups. Large or non-ASCII tables are indexed once.
    if (this.#ascii && text.length <= SEARCH_LIMIT) return this.#search(s);
    if (this.#index === undefined) this.#index = this.#buildIndex();
    return this.#index.get(s);
  }

  #search(s: string): number | undefined {
    const text = this.#text!;
    const needle = `${s}\0`;
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      // A match must start a string (follow a NUL), not end a longer one.
      if (at === 0 || text.charCodeAt(at - 1) === 0) return this.#start + at;
    }
    return undefined;
  }

  #buildIndex(): Map<string, number> {
    const m = new Map<string, number>();
    const text = this.#text!;
    // Strings start at 0 (when that is not the empty string of a base table) and after every NUL.
    for (let at = 0; at < text.length;) {
      const end = text.indexOf("\0", at);
      if (end < 0) break;
      if (end > at) {
        const s = this.lookup(this.#start + at)!;
        if (!m.has(s)) m.set(s, this.#start + at);
      }
      at = end + 1;
    }
    return m;
  }

  /**
   * The NUL-terminated string at `offset`.
   * @throws BtfError `BTF_BAD_STRING` when the offset is outside the table or the string is unterminated.
   */
  get(offset: number, what: string | (() => string) = "string"): string {
    if (offset === 0) return "";
    if (offset < this.#start) return this.#base!.get(offset, what);
    const rel = offset - this.#start;
    if (rel >= this.#bytes.length) {
      if (typeof what === "function") what = what();
      throw new BtfError("BTF_BAD_STRING", `${what}: string offset ${offset} is outside the string table (${this.#start ? `${this.#start}..${this.end - 1}, after the base's` : `${this.#bytes.length} bytes`})`, { offset });
    }
    const s = this.lookup(offset);
    if (s === undefined) {
      if (typeof what === "function") what = what();
      throw new BtfError("BTF_BAD_STRING", `${what}: string at offset ${offset} is not NUL-terminated`, { offset });
    }
    return s;
  }

  /**
   * @internal
   * {@link hashName} of the string at `offset`, from its bytes without decoding it ({@link nameKey}
   * computes the same hash for a JS string), {@link NAME_EMPTY} for an empty string,
   * {@link NAME_BAD} when the offset is outside the table or the string is unterminated. Strings that
   * decode to the same JS string (non-ASCII ones: as UTF-8, leniently) hash the same. For name indexes.
   */
  nameHash(offset: number): number {
    if (offset < this.#start) return this.#base!.nameHash(offset);
    const rel = offset - this.#start;
    const bytes = this.#bytes;
    if (rel >= bytes.length) return NAME_BAD;
    if (bytes[rel] === 0) return NAME_EMPTY;
    this.#view ??= new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const h = hashName(this.#view, bytes, rel);
    return h === NAME_NON_ASCII ? nameKey(this.lookup(offset)!).hash : h; // non-ASCII: as its decoded text
  }

  /** @internal Whether the string at `offset` (a valid offset) is `key`'s string. */
  nameEquals(offset: number, key: NameKey): boolean {
    if (!key.ascii) return this.lookup(offset) === key.text;
    if (offset < this.#start) return this.#base!.nameEquals(offset, key);
    const bytes = this.#bytes;
    const q = key.bytes;
    let p = offset - this.#start;
    for (let i = 0; ; i++, p++) {
      const c = q[i]!;
      if (bytes[p] !== c) return false;
      if (c === 0) return true;
    }
  }
}

/**
 * Builds a fresh, deduplicated string table. Offset 0 is always the empty string.
 *
 * With a `base` (split BTF), strings the base has keep the base's offsets (as libbpf's
 * `btf__add_str`), and the new table holds only the others, from offset `base.end` on, without the
 * leading NUL a base table starts with.
 */
export class StringTableBuilder {
  readonly #offsets = new Map<string, number>([["", 0]]);
  readonly #chunks: Uint8Array[] = [];
  readonly #base: StringTable | undefined;
  readonly #start: number;
  #size: number;

  /** @param base the base's string table, for split BTF. */
  constructor(base?: StringTable) {
    this.#base = base;
    this.#start = base === undefined ? 0 : base.end;
    this.#size = base === undefined ? 1 : 0;
  }

  /** Add `s` (once) and return its offset. */
  add(s: string): number {
    const known = this.#offsets.get(s);
    if (known !== undefined) return known;
    if (this.#base !== undefined) {
      const b = this.#base.offsetOf(s);
      if (b !== undefined) {
        this.#offsets.set(s, b);
        return b;
      }
    }
    const bytes = encodeString(s);
    if (bytes.includes(0)) throw new BtfError("BTF_BAD_STRING", `string ${JSON.stringify(s)} contains a NUL byte`);
    const off = this.#start + this.#size;
    this.#offsets.set(s, off);
    this.#chunks.push(bytes);
    this.#size += bytes.length + 1;
    return off;
  }

  /** Offset of a string already added, or undefined. */
  offsetOf(s: string): number | undefined { return this.#offsets.get(s); }

  /** Current size in bytes (of this table, without the base's). */
  get size(): number { return this.#size; }

  /** The table bytes (each string followed by its NUL). */
  finish(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = this.#base === undefined ? 1 : 0; // out[0] is the NUL of the empty string, in a base table
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length + 1;
    }
    return out;
  }
}

function encodeString(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return utf8enc.encode(s);
    out[i] = c;
  }
  return out;
}

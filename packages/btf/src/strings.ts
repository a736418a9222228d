/**
 * BTF string tables: a bounds-checked reader and a deduplicating builder.
 *
 * @packageDocumentation
 */
import { BtfError } from "./errors.js";
import { latin1Decoder as latin1, utf8Decoder as utf8, utf8Encoder as utf8enc } from "./text.js";

/** Read-only view of a string table (`str_off`/`str_len` of a BTF blob). */
export class StringTable {
  readonly #bytes: Uint8Array;
  /** The whole table decoded one byte per character, so byte offsets are string indexes. */
  readonly #text: string;
  readonly #ascii: boolean;

  /** @param bytes exactly the string section. */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#text = latin1.decode(bytes);
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) { ascii = false; break; }
    this.#ascii = ascii;
  }

  /** The string at `offset`, or undefined when the offset is outside the table or the string is unterminated. */
  lookup(offset: number): string | undefined {
    if (offset === 0) return "";
    if (offset >= this.#bytes.length) return undefined;
    const end = this.#text.indexOf("\0", offset);
    if (end < 0) return undefined;
    if (this.#ascii) return this.#text.slice(offset, end);
    const s = this.#text.slice(offset, end);
    // eslint-disable-next-line no-control-regex
    return /[^\x00-\x7f]/.test(s) ? utf8.decode(this.#bytes.subarray(offset, end)) : s;
  }

  /** Size of the table in bytes. */
  get length(): number { return this.#bytes.length; }

  /** Whether every byte is ASCII (then byte offsets and string indexes agree). */
  get ascii(): boolean { return this.#ascii; }

  /** Offset of a NUL-terminated occurrence of `s` in the table (the first), or undefined. ASCII tables only. */
  offsetOf(s: string): number | undefined {
    if (s === "") return 0;
    if (!this.#ascii) return undefined;
    const needle = `${s}\0`;
    for (let at = this.#text.indexOf(needle); at >= 0; at = this.#text.indexOf(needle, at + 1)) {
      // A match must start a string (follow a NUL), not end a longer one.
      if (at === 0 || this.#text.charCodeAt(at - 1) === 0) return at;
    }
    return undefined;
  }

  /**
   * The NUL-terminated string at `offset`.
   * @throws BtfError `BTF_BAD_STRING` when the offset is outside the table or the string is unterminated.
   */
  get(offset: number, what: string | (() => string) = "string"): string {
    if (offset === 0) return "";
    if (offset >= this.#bytes.length) {
      if (typeof what === "function") what = what();
      throw new BtfError("BTF_BAD_STRING", `${what}: string offset ${offset} is outside the string table (${this.#bytes.length} bytes)`, { offset });
    }
    const end = this.#text.indexOf("\0", offset);
    if (end < 0) {
      if (typeof what === "function") what = what();
      throw new BtfError("BTF_BAD_STRING", `${what}: string at offset ${offset} is not NUL-terminated`, { offset });
    }
    if (this.#ascii) return this.#text.slice(offset, end);
    const s = this.#text.slice(offset, end);
    // eslint-disable-next-line no-control-regex
    return /[^\x00-\x7f]/.test(s) ? utf8.decode(this.#bytes.subarray(offset, end)) : s;
  }
}

/** Builds a fresh, deduplicated string table. Offset 0 is always the empty string. */
export class StringTableBuilder {
  readonly #offsets = new Map<string, number>([["", 0]]);
  readonly #chunks: Uint8Array[] = [];
  #size = 1;

  /** Add `s` (once) and return its offset. */
  add(s: string): number {
    const known = this.#offsets.get(s);
    if (known !== undefined) return known;
    const bytes = encodeString(s);
    if (bytes.includes(0)) throw new BtfError("BTF_BAD_STRING", `string ${JSON.stringify(s)} contains a NUL byte`);
    const off = this.#size;
    this.#offsets.set(s, off);
    this.#chunks.push(bytes);
    this.#size += bytes.length + 1;
    return off;
  }

  /** Offset of a string already added, or undefined. */
  offsetOf(s: string): number | undefined { return this.#offsets.get(s); }

  /** Current size in bytes. */
  get size(): number { return this.#size; }

  /** The table bytes (each string followed by its NUL). */
  finish(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = 1; // out[0] is the NUL of the empty string
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

/**
 * Name hashing from raw string-table bytes, for the name index of lazy BTF: names are hashed and
 * compared without being decoded into JS strings.
 *
 * @internal
 * @packageDocumentation
 */
import { utf8Encoder } from "./text.js";

/** {@link StringTable.nameHash} of the empty string. */
export const NAME_EMPTY = -2;
/** {@link StringTable.nameHash} of an offset that is not a string's. */
export const NAME_BAD = -1;
/** {@link hashName} of a string with a non-ASCII byte (hashed as its decoded text instead). */
export const NAME_NON_ASCII = -3;

/** A name prepared for {@link StringTable.nameHash} / {@link StringTable.nameEquals} lookups. */
export interface NameKey {
  readonly text: string;
  /** UTF-8, NUL-terminated, padded to a multiple of 4 bytes. */
  readonly bytes: Uint8Array;
  readonly ascii: boolean;
  /** What {@link StringTable.nameHash} returns for a string that decodes to `text`. */
  readonly hash: number;
}

/** Prepare `text` (with no NUL in it) for name index lookups. */
export function nameKey(text: string): NameKey {
  let bytes = new Uint8Array((text.length + 4) & ~3);
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) { ascii = false; break; }
    bytes[i] = c;
  }
  if (!ascii) {
    const enc = utf8Encoder.encode(text);
    bytes = new Uint8Array((enc.length + 4) & ~3);
    bytes.set(enc);
  }
  const hash = text === "" ? NAME_EMPTY : hashName(new DataView(bytes.buffer), bytes, 0, true);
  return { text, bytes, ascii, hash };
}

/**
 * Hash of the NUL-terminated bytes at `p` of `u8` (`dv` views the same bytes), four at a time, as a
 * 30-bit number (a small integer to the engine); {@link NAME_BAD} when the bytes end before a NUL,
 * {@link NAME_NON_ASCII} when one is not ASCII (unless `anyBytes`).
 */
export function hashName(dv: DataView, u8: Uint8Array, p: number, anyBytes = false): number {
  const end = u8.length;
  let h = 0x2f3b5c7d;
  let any = 0;
  for (;;) {
    let w: number;
    if (p + 4 <= end) w = dv.getUint32(p, true);
    else {
      w = 0;
      for (let k = 0; ; k++) {
        if (p + k >= end) return NAME_BAD;
        const c = u8[p + k]!;
        if (c === 0) break;
        w |= c << (k << 3);
      }
    }
    // The lowest flagged byte of (w - 0x01..) & ~w & 0x80.. is the first NUL (little-endian: the first in memory).
    const z = (w - 0x01010101) & ~w & 0x80808080;
    if (z !== 0) {
      const n = (31 - Math.clz32(z & -z)) >>> 3;
      if (n !== 0) {
        w &= (1 << (n << 3)) - 1;
        any |= w;
        h = Math.imul(h ^ w, 0x9e3779b1);
        h ^= h >>> 15;
      }
      break;
    }
    any |= w;
    h = Math.imul(h ^ w, 0x9e3779b1);
    h ^= h >>> 15;
    p += 4;
  }
  if ((any & 0x80808080) !== 0 && !anyBytes) return NAME_NON_ASCII;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}

/** Whether the NUL-terminated string at `p` of `u8` contains `___` (a possible `x___y` flavour separator). */
export function hasTripleUnderscore(u8: Uint8Array, p: number): boolean {
  let run = 0;
  for (let c = u8[p]; c !== 0 && c !== undefined; c = u8[++p]) {
    if (c !== 0x5f) run = 0;
    else if (++run === 3) return true;
  }
  return false;
}

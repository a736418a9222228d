/**
 * `.BTF` parser: wire format → {@link Btf}. Both byte orders, every kind 1..19,
 * bounds-checked throughout.
 *
 * @packageDocumentation
 */
import { Btf } from "./btf.js";
import { BTF_MAGIC, BTF_VERSION } from "./encode.js";
import { BtfError } from "./errors.js";
import { checkRefsFrom, decoded, decodeTypeAt } from "./decode.js";
import { BtfHeaderLayout } from "./layouts.js";
import { openLazyBtf } from "./lazy.js";
import { StringTable } from "./strings.js";
import type { BtfType } from "./types.js";

/** A parsed `.BTF` header. */
export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdr_len: number;
  type_off: number;
  type_len: number;
  str_off: number;
  str_len: number;
  /** Byte order the blob is in. */
  littleEndian: boolean;
}

/**
 * Parse and validate a `.BTF` header. The byte order comes from the magic.
 * @throws BtfError `BTF_TRUNCATED`, `BTF_BAD_MAGIC`, `BTF_BAD_VERSION`, `BTF_BAD_HEADER`.
 */
export function parseBtfHeader(bytes: Uint8Array): BtfHeader {
  if (bytes.length < 2) throw new BtfError("BTF_TRUNCATED", `BTF data is ${bytes.length} bytes, too short for a header`, { offset: 0 });
  const m = bytes[0]! | (bytes[1]! << 8);
  let le: boolean;
  if (m === BTF_MAGIC) le = true;
  else if (m === ((BTF_MAGIC >> 8) | ((BTF_MAGIC & 0xff) << 8))) le = false;
  else throw new BtfError("BTF_BAD_MAGIC", `bad BTF magic 0x${m.toString(16).padStart(4, "0")} (expected 0xeb9f in either byte order)`, { offset: 0 });
  if (!BtfHeaderLayout.fits(bytes, 0)) {
    throw new BtfError("BTF_TRUNCATED", `BTF data is ${bytes.length} bytes, the header needs ${BtfHeaderLayout.size}`, { offset: 0 });
  }
  const h = BtfHeaderLayout.read(bytes, 0, le);
  if (h.version !== BTF_VERSION) throw new BtfError("BTF_BAD_VERSION", `unsupported BTF version ${h.version} (expected ${BTF_VERSION})`, { offset: 2 });
  if (h.hdr_len < BtfHeaderLayout.size) throw new BtfError("BTF_BAD_HEADER", `BTF hdr_len ${h.hdr_len} is smaller than ${BtfHeaderLayout.size}`, { offset: 4 });
  if (h.hdr_len > bytes.length) throw new BtfError("BTF_TRUNCATED", `BTF hdr_len ${h.hdr_len} exceeds the data (${bytes.length} bytes)`, { offset: 4 });
  const body = bytes.length - h.hdr_len;
  if (h.type_off + h.type_len > body) {
    throw new BtfError("BTF_TRUNCATED", `BTF type section (${h.type_off}+${h.type_len}) runs past the data (${body} bytes after the header)`, { offset: 8 });
  }
  if (h.str_off + h.str_len > body) {
    throw new BtfError("BTF_TRUNCATED", `BTF string section (${h.str_off}+${h.str_len}) runs past the data (${body} bytes after the header)`, { offset: 16 });
  }
  if (h.type_off % 4 !== 0) throw new BtfError("BTF_BAD_HEADER", `BTF type section offset ${h.type_off} is not 4-byte aligned`, { offset: 8 });
  if (h.type_off < h.str_off + h.str_len && h.str_off < h.type_off + h.type_len && h.type_len > 0 && h.str_len > 0) {
    throw new BtfError("BTF_BAD_HEADER", `BTF type section (${h.type_off}+${h.type_len}) overlaps the string section (${h.str_off}+${h.str_len})`, { offset: 8 });
  }
  return { ...h, littleEndian: le };
}

/** Options of {@link parseBtf}. */
export interface ParseBtfOptions {
  /**
   * Parse split BTF on top of this base (vmlinux's for a kernel module's BTF, libbpf
   * `btf__new_split`): type ids continue after the base's last id, and string offsets at or past the
   * end of the base's string table ({@link Btf.strings}) are in the blob's own table, which may
   * be empty and need not start with a NUL. The base may be lazy.
   */
  base?: Btf;
  /**
   * Index the blob instead of decoding it (libbpf `btf__new`): one pass records where each type's
   * record is and checks the records' structure; a type is decoded (and its names and references
   * checked) when it is first asked for, and kept; names are indexed by kind on the first lookup.
   * For kernel BTF, of which a load reads a few types: `/sys/kernel/btf/vmlinux` opens in about
   * what libbpf's `btf__new` takes instead of ~50 times that. The `Btf` is the same class with the
   * same answers (see "Lazy BTF" in the README); it keeps `bytes`, which must not change.
   */
  lazy?: boolean;
}

/**
 * Parse a `.BTF` blob (from an object's `.BTF` section or `/sys/kernel/btf/vmlinux`), or with
 * `options.base` split BTF (`/sys/kernel/btf/<module>`). Every string offset, type id reference
 * and record length is checked: here, or with `options.lazy` the structure here and each type's
 * content when it is decoded.
 *
 * @throws BtfError with codes `BTF_TRUNCATED`, `BTF_BAD_MAGIC`, `BTF_BAD_VERSION`, `BTF_BAD_HEADER`,
 *   `BTF_BAD_STRING`, `BTF_BAD_KIND`, `BTF_INVALID`, `BTF_BAD_TYPE_ID`.
 */
export function parseBtf(bytes: Uint8Array, options?: ParseBtfOptions): Btf {
  const h = parseBtfHeader(bytes);
  const le = h.littleEndian;
  const base = options?.base;
  const lazy = options?.lazy === true;
  const strStart = h.hdr_len + h.str_off;
  const strBytes = bytes.subarray(strStart, strStart + h.str_len);
  let strs: StringTable;
  /** Id of the first type read, less the length of `types` before it (void's 1 without a base). */
  let idBase: number;
  if (base === undefined) {
    if (strBytes.length === 0 || strBytes[0] !== 0 || strBytes[strBytes.length - 1] !== 0) {
      throw new BtfError("BTF_BAD_STRING", "BTF string section must start and end with a NUL byte", { offset: strStart });
    }
    strs = new StringTable(strBytes, undefined, lazy);
    idBase = 0;
  } else {
    if (strBytes.length !== 0 && strBytes[strBytes.length - 1] !== 0) {
      throw new BtfError("BTF_BAD_STRING", "split BTF string section must be empty or end with a NUL byte", { offset: strStart });
    }
    strs = new StringTable(strBytes, base.strings(), lazy);
    idBase = base.count;
  }
  const tStart = h.hdr_len + h.type_off;
  const tEnd = tStart + h.type_len;
  if (lazy) return openLazyBtf(bytes, le, tStart, tEnd, strBytes, strs, base);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: BtfType[] = base === undefined ? [{ kind: "VOID", name: "" }] : [];
  /** Largest type id referenced anywhere; checked against the table size at the end. */
  let maxRef = 0;

  let off = tStart;
  while (off < tEnd) {
    const t = decodeTypeAt(dv, le, off, tEnd, idBase + types.length, strs);
    off = decoded.end;
    if (decoded.maxRef > maxRef) maxRef = decoded.maxRef;
    types.push(t);
  }

  if (maxRef >= idBase + types.length) checkRefsFrom(types, idBase, idBase + types.length); // throws, naming the offending type
  return new Btf(types, le, strs, base);
}

/**
 * Check that every type reference is inside the table.
 * @throws BtfError `BTF_BAD_TYPE_ID`.
 */
export function checkRefs(types: readonly BtfType[]): void {
  checkRefsFrom(types, 0, types.length);
}

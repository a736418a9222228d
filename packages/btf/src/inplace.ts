/**
 * DATASEC fix-up written into a copy of the original `.BTF` bytes, instead of encoding the whole
 * table again: what the loader sends when nothing else about the types changed. The string table
 * is the original one, so `.BTF.ext` strings keep their offsets.
 *
 * @packageDocumentation
 */
import type { Btf } from "./btf.js";
import { extraSize } from "./encode.js";
import { BtfTypeLayout, BtfVarSecinfoLayout } from "./layouts.js";
import { parseBtfHeader } from "./parse.js";
import { type BtfKind, BtfKindId } from "./types.js";

/** A `.BTF` blob and the offsets of strings in its string table. */
export interface PatchedBtf {
  readonly bytes: Uint8Array;
  stringOffset(s: string): number | undefined;
}

/**
 * Write `btf`'s DATASEC sizes and entries (after {@link fixupDatasecs}) into a copy of `original`,
 * the blob `btf` was parsed from. Returns undefined when that is not possible: `btf` was not parsed
 * from `original` (a different type count or kind), its string table is not plain ASCII, or it is split BTF.
 */
export function patchDatasecsInPlace(btf: Btf, original: Uint8Array): PatchedBtf | undefined {
  const strings = btf.sourceStrings;
  if (!strings?.ascii || btf.base) return undefined;
  const hdr = parseBtfHeader(original);
  const le = btf.littleEndian;
  if (hdr.littleEndian !== le) return undefined;
  const out = original.slice();
  const typesStart = hdr.hdr_len + hdr.type_off;
  const typesEnd = typesStart + hdr.type_len;
  const kindOf = (info: number) => (info >>> 24) & 0x1f;
  let at = typesStart;
  for (let id = 1; id < btf.types.length; id++) {
    if (at + BtfTypeLayout.size > typesEnd) return undefined;
    const t = btf.types[id]!;
    const rec = BtfTypeLayout.read(out, at, le);
    if (kindOf(rec.info) !== kindNumber(t.kind)) return undefined;
    if (t.kind === "DATASEC") {
      if ((rec.info & 0xffff) !== t.vars.length) return undefined;
      BtfTypeLayout.write(out, at, { size_type: t.size }, le);
      t.vars.forEach((v, j) => BtfVarSecinfoLayout.write(out, at + BtfTypeLayout.size + j * BtfVarSecinfoLayout.size, { type: v.type, offset: v.offset, size: v.size }, le));
    }
    at += BtfTypeLayout.size + extraSize(t);
  }
  if (at !== typesEnd) return undefined;
  return { bytes: out, stringOffset: (s) => strings.offsetOf(s) };
}

function kindNumber(kind: BtfKind): number {
  return BtfKindId[kind];
}

/**
 * `.BTF` encoder: types → wire format with a fresh deduplicated string table.
 *
 * @packageDocumentation
 */
import { BtfError } from "./errors.js";
import {
  BtfArrayLayout, BtfDeclTagLayout, BtfEnum64Layout, BtfEnumLayout, BtfHeaderLayout, BtfIntLayout,
  BtfMemberLayout, BtfParamLayout, BtfTypeLayout, BtfVarLayout, BtfVarSecinfoLayout, btfTypeExtraSize,
} from "./layouts.js";
import { type StringTable, StringTableBuilder } from "./strings.js";
import { BTF_LINKAGE_NAMES, BtfKindId, type BtfLinkage, type BtfType } from "./types.js";

/** Result of encoding: the bytes and the string offsets used. */
export interface EncodedBtf {
  /** The complete `.BTF` blob. */
  bytes: Uint8Array;
  /** Offset of `s` in the blob's string table (undefined if absent). */
  stringOffset(s: string): number | undefined;
}

/** BTF magic number. */
export const BTF_MAGIC = 0xeb9f;
/** BTF format version. */
export const BTF_VERSION = 1;

const T = {
  name: BtfTypeLayout.field("name_off").offset,
  info: BtfTypeLayout.field("info").offset,
  sizeType: BtfTypeLayout.field("size_type").offset,
  size: BtfTypeLayout.size,
};

/** Bytes that follow the common `btf_type` for type `t` ({@link btfTypeExtraSize} with its entry count). */
export function extraSize(t: BtfType): number {
  const entries = "members" in t ? t.members.length : "values" in t ? t.values.length : "params" in t ? t.params.length : "vars" in t ? t.vars.length : 0;
  return btfTypeExtraSize(t.kind, entries);
}

/** What {@link encodeBtf} needs to write split BTF (a kernel module's, on top of a base). */
export interface EncodeSplitOptions {
  /** The id of the first type (the base's type count); ids below are the base's. */
  startId: number;
  /** The base's string table: strings it has keep their offsets, the others follow its end. */
  baseStrings: StringTable;
}

/**
 * Encode a type table (index 0 = void, skipped) into a `.BTF` blob. With `split`, `types` are
 * split BTF's own types (`types[0]` has id `split.startId`), written as split BTF on top of the
 * base whose ids come before.
 * @throws BtfError `BTF_INVALID` when a field does not fit its wire encoding,
 *   `BTF_BAD_TYPE_ID` for references outside the table.
 */
export function encodeBtf(types: readonly BtfType[], littleEndian: boolean, extraStrings: Iterable<string> = [], split?: EncodeSplitOptions): EncodedBtf {
  const strs = new StringTableBuilder(split?.baseStrings);
  /** Index in `types` of the first type written, and the id of `types[0]`. */
  const first = split === undefined ? 1 : 0;
  const idOf0 = split === undefined ? 0 : split.startId;
  if (!Number.isInteger(idOf0) || (split !== undefined && idOf0 < 1)) throw new BtfError("BTF_BAD_TYPE_ID", `split BTF start id ${idOf0} is not a type id after void`);
  let typeLen = 0;
  for (let i = first; i < types.length; i++) typeLen += T.size + extraSize(types[i]!);
  const hdrLen = BtfHeaderLayout.size;
  const typeBytes = new Uint8Array(typeLen);
  const dv = new DataView(typeBytes.buffer);
  const le = littleEndian;
  /** The number of type ids: references must be below it. */
  const n = idOf0 + types.length;

  let off = 0;
  for (let i = first; i < types.length; i++) {
    const id = idOf0 + i;
    const t = types[i]!;
    const ctx = (what: string) => `type [${id}] ${t.kind}${t.name ? ` '${t.name}'` : ""}: ${what}`;
    const u32 = (v: number, what: string, max = 0xffffffff) => {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new BtfError("BTF_INVALID", ctx(`${what} ${v} is out of range (0..${max})`), { btfTypeId: id, btfKind: t.kind });
      return v;
    };
    const ref = (v: number, what: string) => {
      if (!Number.isInteger(v) || v < 0 || v >= n) throw new BtfError("BTF_BAD_TYPE_ID", ctx(`${what} type id ${v} is out of range (0..${n - 1})`), { btfTypeId: id, btfKind: t.kind });
      return v;
    };
    const kindNum = BtfKindId[t.kind];
    if (kindNum === undefined || kindNum === 0) throw new BtfError("BTF_BAD_KIND", ctx("unknown or misplaced kind"), { btfTypeId: id, btfKind: t.kind });
    let vlen = 0;
    let kflag = false;
    let sizeType = 0;
    const header = () => {
      dv.setUint32(off + T.name, strs.add(t.name), le);
      dv.setUint32(off + T.info, ((kflag ? 0x80000000 : 0) | (kindNum << 24) | u32(vlen, "vlen", 0xffff)) >>> 0, le);
      dv.setUint32(off + T.sizeType, sizeType, le);
      off += T.size;
    };
    switch (t.kind) {
      case "INT": {
        sizeType = u32(t.size, "size");
        header();
        const enc = (u32(t.encoding, "encoding", 0xf) << 24) | (u32(t.offset, "bit offset", 0xff) << 16) | u32(t.bits, "bits", 0xff);
        dv.setUint32(off + BtfIntLayout.field("encoding").offset, enc >>> 0, le);
        off += BtfIntLayout.size;
        break;
      }
      case "PTR": case "TYPEDEF": case "VOLATILE": case "CONST": case "RESTRICT":
        sizeType = ref(t.type, "referenced");
        header();
        break;
      case "TYPE_TAG":
        sizeType = ref(t.type, "referenced");
        kflag = t.attr;
        header();
        break;
      case "ARRAY": {
        header();
        const A = BtfArrayLayout;
        dv.setUint32(off + A.field("type").offset, ref(t.type, "element"), le);
        dv.setUint32(off + A.field("index_type").offset, ref(t.indexType, "index"), le);
        dv.setUint32(off + A.field("nelems").offset, u32(t.nelems, "nelems"), le);
        off += A.size;
        break;
      }
      case "STRUCT": case "UNION": {
        sizeType = u32(t.size, "size");
        vlen = t.members.length;
        kflag = t.kindFlag;
        header();
        const M = BtfMemberLayout;
        const mName = M.field("name_off").offset, mType = M.field("type").offset, mOff = M.field("offset").offset;
        for (const m of t.members) {
          let o: number;
          if (kflag) o = ((u32(m.bitSize, "member bitfield size", 0xff) << 24) | u32(m.bitOffset, `member '${m.name}' bit offset`, 0xffffff)) >>> 0;
          else {
            if (m.bitSize !== 0) throw new BtfError("BTF_INVALID", ctx(`member '${m.name}' has a bitfield size but kindFlag is false`), { btfTypeId: id, btfKind: t.kind });
            o = u32(m.bitOffset, `member '${m.name}' bit offset`);
          }
          dv.setUint32(off + mName, strs.add(m.name), le);
          dv.setUint32(off + mType, ref(m.type, `member '${m.name}'`), le);
          dv.setUint32(off + mOff, o, le);
          off += M.size;
        }
        break;
      }
      case "ENUM": {
        sizeType = u32(t.size, "size");
        vlen = t.values.length;
        kflag = t.signed;
        header();
        const E = BtfEnumLayout;
        for (const v of t.values) {
          const ok = Number.isInteger(v.value) && (t.signed ? v.value >= -0x80000000 && v.value <= 0x7fffffff : v.value >= 0 && v.value <= 0xffffffff);
          if (!ok) throw new BtfError("BTF_INVALID", ctx(`value ${v.name}=${v.value} does not fit a ${t.signed ? "signed" : "unsigned"} 32-bit enum`), { btfTypeId: id, btfKind: t.kind });
          dv.setUint32(off + E.field("name_off").offset, strs.add(v.name), le);
          dv.setUint32(off + E.field("val").offset, v.value >>> 0, le);
          off += E.size;
        }
        break;
      }
      case "ENUM64": {
        sizeType = u32(t.size, "size");
        vlen = t.values.length;
        kflag = t.signed;
        header();
        const E = BtfEnum64Layout;
        for (const v of t.values) {
          const val = v.value;
          const ok = typeof val === "bigint" && (t.signed ? BigInt.asIntN(64, val) === val : BigInt.asUintN(64, val) === val);
          if (!ok) throw new BtfError("BTF_INVALID", ctx(`value ${v.name}=${String(val)} does not fit a ${t.signed ? "signed" : "unsigned"} 64-bit enum`), { btfTypeId: id, btfKind: t.kind });
          const u = BigInt.asUintN(64, val);
          dv.setUint32(off + E.field("name_off").offset, strs.add(v.name), le);
          dv.setUint32(off + E.field("val_lo32").offset, Number(u & 0xffffffffn), le);
          dv.setUint32(off + E.field("val_hi32").offset, Number(u >> 32n), le);
          off += E.size;
        }
        break;
      }
      case "FWD":
        kflag = t.union;
        header();
        break;
      case "FUNC":
        vlen = linkageNum(t.linkage, ctx);
        sizeType = ref(t.type, "prototype");
        header();
        break;
      case "FUNC_PROTO": {
        sizeType = ref(t.returnType, "return");
        vlen = t.params.length;
        header();
        const P = BtfParamLayout;
        for (const p of t.params) {
          dv.setUint32(off + P.field("name_off").offset, strs.add(p.name), le);
          dv.setUint32(off + P.field("type").offset, ref(p.type, `parameter '${p.name}'`), le);
          off += P.size;
        }
        break;
      }
      case "VAR":
        sizeType = ref(t.type, "variable");
        header();
        dv.setUint32(off + BtfVarLayout.field("linkage").offset, linkageNum(t.linkage, ctx), le);
        off += BtfVarLayout.size;
        break;
      case "DATASEC": {
        sizeType = u32(t.size, "size");
        vlen = t.vars.length;
        header();
        const V = BtfVarSecinfoLayout;
        for (const v of t.vars) {
          dv.setUint32(off + V.field("type").offset, ref(v.type, "variable"), le);
          dv.setUint32(off + V.field("offset").offset, u32(v.offset, "variable offset"), le);
          dv.setUint32(off + V.field("size").offset, u32(v.size, "variable size"), le);
          off += V.size;
        }
        break;
      }
      case "FLOAT":
        sizeType = u32(t.size, "size");
        header();
        break;
      case "DECL_TAG": {
        sizeType = ref(t.type, "tagged");
        kflag = t.attr;
        header();
        const c = t.componentIdx;
        if (!Number.isInteger(c) || c < -1 || c > 0x7fffffff) throw new BtfError("BTF_INVALID", ctx(`component_idx ${c} is out of range (-1..2147483647)`), { btfTypeId: id, btfKind: t.kind });
        dv.setInt32(off + BtfDeclTagLayout.field("component_idx").offset, c, le);
        off += BtfDeclTagLayout.size;
        break;
      }
      default:
        throw new BtfError("BTF_BAD_KIND", `type [${id}]: cannot encode kind ${(t as BtfType).kind}`, { btfTypeId: id });
    }
  }
  for (const s of extraStrings) strs.add(s);
  const strBytes = strs.finish();

  const out = new Uint8Array(hdrLen + typeLen + strBytes.length);
  BtfHeaderLayout.write(out, 0, {
    magic: BTF_MAGIC, version: BTF_VERSION, flags: 0, hdr_len: hdrLen,
    type_off: 0, type_len: typeLen, str_off: typeLen, str_len: strBytes.length,
  }, le);
  out.set(typeBytes, hdrLen);
  out.set(strBytes, hdrLen + typeLen);
  return { bytes: out, stringOffset: (s) => strs.offsetOf(s) };
}

function linkageNum(l: BtfLinkage, ctx: (w: string) => string): number {
  const i = BTF_LINKAGE_NAMES.indexOf(l);
  if (i < 0) throw new BtfError("BTF_INVALID", ctx(`unknown linkage ${String(l)}`));
  return i;
}

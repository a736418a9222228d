/**
 * One type record → one {@link BtfType}: the decoder shared by the eager parser ({@link parseBtf}
 * decodes every record in a row) and the lazy one (`parseBtf(bytes, { lazy: true })` decodes a
 * record when its type is first asked for). Every check of a record's content is here, so both
 * raise the same {@link BtfError}s for the same bad record.
 *
 * @internal
 * @packageDocumentation
 */
import { BtfError } from "./errors.js";
import {
  BtfArrayLayout, BtfDeclTagLayout, BtfEnum64Layout, BtfEnumLayout, BtfIntLayout, BtfMemberLayout, BtfParamLayout,
  BtfTypeLayout, BtfVarLayout, BtfVarSecinfoLayout, btfTypeExtraSize,
} from "./layouts.js";
import type { StringTable } from "./strings.js";
import {
  BTF_KIND_NAMES, BTF_LINKAGE_NAMES, typeRefs, type BtfEnum64Value, type BtfEnumValue, type BtfKind, type BtfMember, type BtfParam,
  type BtfType, type BtfVarSecinfo,
} from "./types.js";

/** Offsets of every field the decoder reads, taken from the declared layouts. */
export const O = {
  tName: BtfTypeLayout.field("name_off").offset,
  tInfo: BtfTypeLayout.field("info").offset,
  tSize: BtfTypeLayout.field("size_type").offset,
  tLen: BtfTypeLayout.size,
  intEnc: BtfIntLayout.field("encoding").offset,
  intLen: BtfIntLayout.size,
  arrType: BtfArrayLayout.field("type").offset,
  arrIndex: BtfArrayLayout.field("index_type").offset,
  arrN: BtfArrayLayout.field("nelems").offset,
  arrLen: BtfArrayLayout.size,
  mName: BtfMemberLayout.field("name_off").offset,
  mType: BtfMemberLayout.field("type").offset,
  mOff: BtfMemberLayout.field("offset").offset,
  mLen: BtfMemberLayout.size,
  eName: BtfEnumLayout.field("name_off").offset,
  eVal: BtfEnumLayout.field("val").offset,
  eLen: BtfEnumLayout.size,
  e64Name: BtfEnum64Layout.field("name_off").offset,
  e64Lo: BtfEnum64Layout.field("val_lo32").offset,
  e64Hi: BtfEnum64Layout.field("val_hi32").offset,
  e64Len: BtfEnum64Layout.size,
  pName: BtfParamLayout.field("name_off").offset,
  pType: BtfParamLayout.field("type").offset,
  pLen: BtfParamLayout.size,
  varLinkage: BtfVarLayout.field("linkage").offset,
  varLen: BtfVarLayout.size,
  vsType: BtfVarSecinfoLayout.field("type").offset,
  vsOff: BtfVarSecinfoLayout.field("offset").offset,
  vsSize: BtfVarSecinfoLayout.field("size").offset,
  vsLen: BtfVarSecinfoLayout.size,
  dtComp: BtfDeclTagLayout.field("component_idx").offset,
  dtLen: BtfDeclTagLayout.size,
};

/** Kinds whose kind_flag carries meaning. */
const KFLAG_KINDS = new Set<BtfKind>(["STRUCT", "UNION", "ENUM", "FWD", "ENUM64", "DECL_TAG", "TYPE_TAG"]);
/** Kinds with a vlen (FUNC's vlen is its linkage). */
const VLEN_KINDS = new Set<BtfKind>(["STRUCT", "UNION", "ENUM", "FUNC_PROTO", "DATASEC", "ENUM64", "FUNC"]);

/**
 * By kind number: the info bits a record of that kind may have set (the kind itself, kind_flag
 * where it means something, vlen where there is one); 0 for numbers that are not kinds. A record
 * whose info has any other bit set is invalid.
 */
export const INFO_ALLOWED: Uint32Array = new Uint32Array(32);
/** By kind number: the bytes after the 12-byte `btf_type` that do not depend on vlen. */
export const EXTRA_FIXED: Uint8Array = new Uint8Array(32);
/** By kind number: the bytes after the 12-byte `btf_type` per vlen entry. */
export const EXTRA_PER_VLEN: Uint8Array = new Uint8Array(32);
for (let k = 1; k < BTF_KIND_NAMES.length; k++) {
  const kind = BTF_KIND_NAMES[k]!;
  INFO_ALLOWED[k] = ((k << 24) | (KFLAG_KINDS.has(kind) ? 0x80000000 : 0) | (VLEN_KINDS.has(kind) ? 0xffff : 0)) >>> 0;
  EXTRA_FIXED[k] = btfTypeExtraSize(kind, 0);
  EXTRA_PER_VLEN[k] = btfTypeExtraSize(kind, 1) - EXTRA_FIXED[k]!;
}

/**
 * What {@link decodeTypeAt} leaves besides the type: where the record ends and the largest type id
 * it refers to (checked by the caller against the id space, which the eager parser only knows at the end).
 */
export const decoded = { end: 0, maxRef: 0 };

/**
 * Check a record's `btf_type` and that the record fits before `tEnd`, from its info word alone
 * (what the lazy parser checks of every type when it opens a blob).
 * @returns the record's length in bytes.
 * @throws BtfError `BTF_TRUNCATED`, `BTF_BAD_KIND`, `BTF_INVALID` (reserved bits, kind_flag, vlen, FUNC linkage).
 */
export function checkRecordHead(dv: DataView, le: boolean, off: number, tEnd: number, id: number, strs: StringTable): number {
  if (off + O.tLen > tEnd) throw new BtfError("BTF_TRUNCATED", `type [${id}] at offset ${off} runs past the type section`, { btfTypeId: id, offset: off });
  const info = dv.getUint32(off + O.tInfo, le);
  const kindNum = (info >>> 24) & 0x1f;
  const vlen = info & 0xffff;
  const kind = kindNum >= 1 ? BTF_KIND_NAMES[kindNum] : undefined;
  if (kind === undefined) throw new BtfError("BTF_BAD_KIND", `type [${id}] at offset ${off} has unknown kind ${kindNum}`, { btfTypeId: id, offset: off });
  if ((info & 0x60ff0000) !== 0) throw new BtfError("BTF_INVALID", `type [${id}] ${kind}: reserved info bits set (0x${info.toString(16)})`, { btfTypeId: id, btfKind: kind, offset: off });
  if (info >>> 31 === 1 && !KFLAG_KINDS.has(kind)) throw new BtfError("BTF_INVALID", `type [${id}] ${kind}: kind_flag must be 0`, { btfTypeId: id, btfKind: kind, offset: off });
  if (vlen !== 0 && !VLEN_KINDS.has(kind)) throw new BtfError("BTF_INVALID", `type [${id}] ${kind}: vlen must be 0 (got ${vlen})`, { btfTypeId: id, btfKind: kind, offset: off });
  const name = () => strs.lookup(dv.getUint32(off + O.tName, le)) ?? "";
  if (kind === "FUNC" && BTF_LINKAGE_NAMES[vlen] === undefined) throw new BtfError("BTF_INVALID", `type [${id}] FUNC '${name()}': unknown linkage ${vlen}`, { btfTypeId: id, btfKind: kind, offset: off });
  const len = O.tLen + btfTypeExtraSize(kind, vlen);
  if (off + len > tEnd) throw truncated(id, kind, name(), vlen, off);
  return len;
}

/**
 * Decode the type record at byte `off` of `dv` (type `id`; the type section ends at `tEnd`),
 * names from `strs`. Sets {@link decoded}.
 * @throws BtfError `BTF_TRUNCATED`, `BTF_BAD_KIND`, `BTF_INVALID`, `BTF_BAD_STRING` (type references are the caller's to check).
 */
export function decodeTypeAt(dv: DataView, le: boolean, off: number, tEnd: number, id: number, strs: StringTable): BtfType {
  let maxRef = 0;
  if (off + O.tLen > tEnd) throw new BtfError("BTF_TRUNCATED", `type [${id}] at offset ${off} runs past the type section`, { btfTypeId: id, offset: off });
  const nameOff = dv.getUint32(off + O.tName, le);
  const info = dv.getUint32(off + O.tInfo, le);
  const st = dv.getUint32(off + O.tSize, le);
  const kindNum = (info >>> 24) & 0x1f;
  const kflag = info >>> 31 === 1;
  const vlen = info & 0xffff;
  const kind = kindNum >= 1 ? BTF_KIND_NAMES[kindNum] : undefined;
  if (kind === undefined) throw new BtfError("BTF_BAD_KIND", `type [${id}] at offset ${off} has unknown kind ${kindNum}`, { btfTypeId: id, offset: off });
  if ((info & 0x60ff0000) !== 0) throw new BtfError("BTF_INVALID", `type [${id}] ${kind}: reserved info bits set (0x${info.toString(16)})`, { btfTypeId: id, btfKind: kind, offset: off });
  if (kflag && !KFLAG_KINDS.has(kind)) throw new BtfError("BTF_INVALID", `type [${id}] ${kind}: kind_flag must be 0`, { btfTypeId: id, btfKind: kind, offset: off });
  if (vlen !== 0 && !VLEN_KINDS.has(kind)) throw new BtfError("BTF_INVALID", `type [${id}] ${kind}: vlen must be 0 (got ${vlen})`, { btfTypeId: id, btfKind: kind, offset: off });
  const name = (strs.lookup(nameOff) ?? badString(strs, nameOff, `type [${id}] name`));
  const rec = off;
  off += O.tLen;
  if (off + btfTypeExtraSize(kind, vlen) > tEnd) throw truncated(id, kind, name, vlen, rec);
  let t: BtfType;
  switch (kind) {
    case "INT": {
      const v = dv.getUint32(off + O.intEnc, le);
      off += O.intLen;
      if ((v & 0xf000ff00) !== 0) throw new BtfError("BTF_INVALID", `type [${id}] INT '${name}': reserved encoding bits set (0x${v.toString(16)})`, { btfTypeId: id, btfKind: kind, offset: rec });
      t = { kind, name, size: st, encoding: (v >>> 24) & 0x0f, offset: (v >>> 16) & 0xff, bits: v & 0xff };
      break;
    }
    case "PTR": case "TYPEDEF": case "VOLATILE": case "CONST": case "RESTRICT":
      maxRef = st;
      t = { kind, name, type: st };
      break;
    case "TYPE_TAG":
      maxRef = st;
      t = { kind, name, type: st, attr: kflag };
      break;
    case "ARRAY":
      t = { kind, name, type: dv.getUint32(off + O.arrType, le), indexType: dv.getUint32(off + O.arrIndex, le), nelems: dv.getUint32(off + O.arrN, le) };
      maxRef = Math.max(t.type, t.indexType);
      off += O.arrLen;
      break;
    case "STRUCT": case "UNION": {
      const members: BtfMember[] = new Array(vlen);
      for (let i = 0; i < vlen; i++, off += O.mLen) {
        const mo = dv.getUint32(off + O.mOff, le);
        const mt = dv.getUint32(off + O.mType, le);
        if (mt > maxRef) maxRef = mt;
        members[i] = {
          name: (strs.lookup(dv.getUint32(off + O.mName, le)) ?? badString(strs, dv.getUint32(off + O.mName, le), `type [${id}] member #${i} name`)),
          type: mt,
          bitOffset: kflag ? mo & 0xffffff : mo,
          bitSize: kflag ? mo >>> 24 : 0,
        };
      }
      t = { kind, name, size: st, kindFlag: kflag, members };
      break;
    }
    case "ENUM": {
      const values: BtfEnumValue[] = new Array(vlen);
      for (let i = 0; i < vlen; i++, off += O.eLen) {
        const raw = dv.getInt32(off + O.eVal, le);
        values[i] = { name: (strs.lookup(dv.getUint32(off + O.eName, le)) ?? badString(strs, dv.getUint32(off + O.eName, le), `type [${id}] enumerator #${i} name`)), value: kflag ? raw : raw >>> 0 };
      }
      t = { kind, name, size: st, signed: kflag, values };
      break;
    }
    case "ENUM64": {
      const values: BtfEnum64Value[] = new Array(vlen);
      for (let i = 0; i < vlen; i++, off += O.e64Len) {
        const u = (BigInt(dv.getUint32(off + O.e64Hi, le)) << 32n) | BigInt(dv.getUint32(off + O.e64Lo, le));
        values[i] = { name: (strs.lookup(dv.getUint32(off + O.e64Name, le)) ?? badString(strs, dv.getUint32(off + O.e64Name, le), `type [${id}] enumerator #${i} name`)), value: kflag ? BigInt.asIntN(64, u) : u };
      }
      t = { kind, name, size: st, signed: kflag, values };
      break;
    }
    case "FWD":
      t = { kind, name, union: kflag };
      break;
    case "FUNC": {
      const linkage = BTF_LINKAGE_NAMES[vlen];
      if (linkage === undefined) throw new BtfError("BTF_INVALID", `type [${id}] FUNC '${name}': unknown linkage ${vlen}`, { btfTypeId: id, btfKind: kind, offset: rec });
      maxRef = st;
      t = { kind, name, type: st, linkage };
      break;
    }
    case "FUNC_PROTO": {
      maxRef = st;
      const params: BtfParam[] = new Array(vlen);
      for (let i = 0; i < vlen; i++, off += O.pLen) {
        const pt = dv.getUint32(off + O.pType, le);
        if (pt > maxRef) maxRef = pt;
        params[i] = { name: (strs.lookup(dv.getUint32(off + O.pName, le)) ?? badString(strs, dv.getUint32(off + O.pName, le), `type [${id}] parameter #${i} name`)), type: pt };
      }
      t = { kind, name, returnType: st, params };
      break;
    }
    case "VAR": {
      const l = dv.getUint32(off + O.varLinkage, le);
      off += O.varLen;
      const linkage = BTF_LINKAGE_NAMES[l];
      if (linkage === undefined) throw new BtfError("BTF_INVALID", `type [${id}] VAR '${name}': unknown linkage ${l}`, { btfTypeId: id, btfKind: kind, offset: rec });
      maxRef = st;
      t = { kind, name, type: st, linkage };
      break;
    }
    case "DATASEC": {
      const vars: BtfVarSecinfo[] = new Array(vlen);
      for (let i = 0; i < vlen; i++, off += O.vsLen) {
        const vt = dv.getUint32(off + O.vsType, le);
        if (vt > maxRef) maxRef = vt;
        vars[i] = { type: vt, offset: dv.getUint32(off + O.vsOff, le), size: dv.getUint32(off + O.vsSize, le) };
      }
      t = { kind, name, size: st, vars };
      break;
    }
    case "FLOAT":
      t = { kind, name, size: st };
      break;
    case "DECL_TAG": {
      const c = dv.getInt32(off + O.dtComp, le);
      off += O.dtLen;
      if (c < -1) throw new BtfError("BTF_INVALID", `type [${id}] DECL_TAG '${name}': component_idx ${c} is invalid`, { btfTypeId: id, btfKind: kind, offset: rec });
      maxRef = st;
      t = { kind, name, type: st, componentIdx: c, attr: kflag };
      break;
    }
    default:
      throw new BtfError("BTF_BAD_KIND", `type [${id}]: unhandled kind ${kind}`, { btfTypeId: id, offset: rec });
  }
  decoded.end = off;
  decoded.maxRef = maxRef;
  return t;
}

function badString(strs: StringTable, off: number, what: string): never {
  strs.get(off, what);
  throw new BtfError("BTF_BAD_STRING", `${what}: bad string offset ${off}`, { offset: off });
}

function truncated(id: number, kind: BtfKind, name: string, vlen: number, rec: number): BtfError {
  return new BtfError("BTF_TRUNCATED", `type [${id}] ${kind}${name ? ` '${name}'` : ""}: its data (vlen ${vlen}) runs past the type section`, { btfTypeId: id, btfKind: kind, offset: rec });
}

/** {@link checkRefs} on `types[i]` = type `idOf0 + i` (void skipped), references below `n`. */
export function checkRefsFrom(types: readonly BtfType[], idOf0: number, n: number): void {
  const bad = (id: number, t: BtfType, r: number) =>
    new BtfError("BTF_BAD_TYPE_ID", `type [${id}] ${t.kind}${t.name ? ` '${t.name}'` : ""} refers to type id ${r}, beyond the last type ${n - 1}`, { btfTypeId: id, btfKind: t.kind });
  for (let i = 0; i < types.length; i++) {
    const id = idOf0 + i;
    const t = types[i]!;
    switch (t.kind) {
      case "VOID":
        break;
      case "STRUCT": case "UNION":
        for (const m of t.members) if (m.type >= n) throw bad(id, t, m.type);
        break;
      case "FUNC_PROTO":
        if (t.returnType >= n) throw bad(id, t, t.returnType);
        for (const p of t.params) if (p.type >= n) throw bad(id, t, p.type);
        break;
      case "DATASEC":
        for (const v of t.vars) if (v.type >= n) throw bad(id, t, v.type);
        break;
      case "ARRAY":
        if (t.type >= n) throw bad(id, t, t.type);
        if (t.indexType >= n) throw bad(id, t, t.indexType);
        break;
      default:
        for (const r of typeRefs(t)) if (r >= n) throw bad(id, t, r);
    }
  }
}

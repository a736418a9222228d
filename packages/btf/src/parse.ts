/**
 * `.BTF` parser: wire format → {@link Btf}. Both byte orders, every kind 1..19,
 * bounds-checked throughout.
 *
 * @packageDocumentation
 */
import { Btf } from "./btf.js";
import { BTF_MAGIC, BTF_VERSION } from "./encode.js";
import { BtfError } from "./errors.js";
import {
  BtfArrayLayout, BtfDeclTagLayout, BtfEnum64Layout, BtfEnumLayout, BtfHeaderLayout, BtfIntLayout,
  BtfMemberLayout, BtfParamLayout, BtfTypeLayout, BtfVarLayout, BtfVarSecinfoLayout, btfTypeExtraSize,
} from "./layouts.js";
import { StringTable } from "./strings.js";
import {
  BTF_KIND_NAMES, BTF_LINKAGE_NAMES, typeRefs, type BtfEnum64Value, type BtfEnumValue, type BtfKind,
  type BtfMember, type BtfParam, type BtfType, type BtfVarSecinfo,
} from "./types.js";

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

/** Offsets of every field the hot loop reads, taken from the declared layouts. */
const O = {
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
   * be empty and need not start with a NUL.
   */
  base?: Btf;
}

/**
 * Parse a `.BTF` blob (from an object's `.BTF` section or `/sys/kernel/btf/vmlinux`), or with
 * `options.base` split BTF (`/sys/kernel/btf/<module>`). Every string offset, type id reference
 * and record length is checked.
 *
 * @throws BtfError with codes `BTF_TRUNCATED`, `BTF_BAD_MAGIC`, `BTF_BAD_VERSION`, `BTF_BAD_HEADER`,
 *   `BTF_BAD_STRING`, `BTF_BAD_KIND`, `BTF_INVALID`, `BTF_BAD_TYPE_ID`.
 */
export function parseBtf(bytes: Uint8Array, options?: ParseBtfOptions): Btf {
  const h = parseBtfHeader(bytes);
  const le = h.littleEndian;
  const base = options?.base;
  const strStart = h.hdr_len + h.str_off;
  const strBytes = bytes.subarray(strStart, strStart + h.str_len);
  let strs: StringTable;
  /** Id of the first type read, less the length of `types` before it (void's 1 without a base). */
  let idBase: number;
  if (base === undefined) {
    if (strBytes.length === 0 || strBytes[0] !== 0 || strBytes[strBytes.length - 1] !== 0) {
      throw new BtfError("BTF_BAD_STRING", "BTF string section must start and end with a NUL byte", { offset: strStart });
    }
    strs = new StringTable(strBytes);
    idBase = 0;
  } else {
    if (strBytes.length !== 0 && strBytes[strBytes.length - 1] !== 0) {
      throw new BtfError("BTF_BAD_STRING", "split BTF string section must be empty or end with a NUL byte", { offset: strStart });
    }
    strs = new StringTable(strBytes, base.strings());
    idBase = base.count;
  }
  const tStart = h.hdr_len + h.type_off;
  const tEnd = tStart + h.type_len;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: BtfType[] = base === undefined ? [{ kind: "VOID", name: "" }] : [];
  /** Largest type id referenced anywhere; checked against the table size at the end. */
  let maxRef = 0;

  let off = tStart;
  while (off < tEnd) {
    const id = idBase + types.length;
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
        if (st > maxRef) maxRef = st;
        t = { kind, name, type: st };
        break;
      case "TYPE_TAG":
        if (st > maxRef) maxRef = st;
        t = { kind, name, type: st, attr: kflag };
        break;
      case "ARRAY":
        t = { kind, name, type: dv.getUint32(off + O.arrType, le), indexType: dv.getUint32(off + O.arrIndex, le), nelems: dv.getUint32(off + O.arrN, le) };
        if (t.type > maxRef) maxRef = t.type;
        if (t.indexType > maxRef) maxRef = t.indexType;
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
        if (st > maxRef) maxRef = st;
        t = { kind, name, type: st, linkage };
        break;
      }
      case "FUNC_PROTO": {
        if (st > maxRef) maxRef = st;
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
        if (st > maxRef) maxRef = st;
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
        if (st > maxRef) maxRef = st;
        t = { kind, name, type: st, componentIdx: c, attr: kflag };
        break;
      }
      default:
        throw new BtfError("BTF_BAD_KIND", `type [${id}]: unhandled kind ${kind}`, { btfTypeId: id, offset: rec });
    }
    types.push(t);
  }

  if (maxRef >= idBase + types.length) checkRefsFrom(types, idBase, idBase + types.length); // throws, naming the offending type
  return new Btf(types, le, strs, base);
}

function badString(strs: StringTable, off: number, what: string): never {
  strs.get(off, what);
  throw new BtfError("BTF_BAD_STRING", `${what}: bad string offset ${off}`, { offset: off });
}

function truncated(id: number, kind: BtfKind, name: string, vlen: number, rec: number): BtfError {
  return new BtfError("BTF_TRUNCATED", `type [${id}] ${kind}${name ? ` '${name}'` : ""}: its data (vlen ${vlen}) runs past the type section`, { btfTypeId: id, btfKind: kind, offset: rec });
}

/**
 * Check that every type reference is inside the table.
 * @throws BtfError `BTF_BAD_TYPE_ID`.
 */
export function checkRefs(types: readonly BtfType[]): void {
  checkRefsFrom(types, 0, types.length);
}

/** {@link checkRefs} on `types[i]` = type `idOf0 + i` (void skipped), references below `n`. */
function checkRefsFrom(types: readonly BtfType[], idOf0: number, n: number): void {
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

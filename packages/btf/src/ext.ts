/**
 * `.BTF.ext` parser and encoder: func_info, line_info and CO-RE relocation records,
 * grouped by ELF section. Record sizes come from the data (`rec_size`); bytes past
 * the fields this package knows are kept per record so encoding round-trips.
 *
 * @packageDocumentation
 */
import type { Btf } from "./btf.js";
import { BTF_MAGIC, BTF_VERSION } from "./encode.js";
import { BtfError } from "./errors.js";
import {
  BpfCoreReloLayout, BpfFuncInfoLayout, BpfLineInfoLayout, BtfExtCoreHeaderLayout, BtfExtHeaderLayout,
  BtfExtInfoSecLayout, BtfExtRecSizeLayout,
} from "./layouts.js";
import { parseBtfHeader } from "./parse.js";
import { StringTable } from "./strings.js";

/** One `bpf_func_info`: a function (FUNC type) starting at an instruction. */
export interface BtfExtFuncInfo {
  /** Byte offset of the instruction in the ELF section (in .o files; instruction index once loaded). */
  insnOff: number;
  /** FUNC type id. */
  typeId: number;
  /** Record bytes beyond the known fields (only when `rec_size` is larger than the struct). */
  extra?: Uint8Array;
}

/** One `bpf_line_info`. */
export interface BtfExtLineInfo {
  insnOff: number;
  /** Source file name (from `file_name_off`). */
  fileName: string;
  /** Source line text (from `line_off`). */
  line: string;
  /** Line number (`line_col >> 10`). */
  lineNumber: number;
  /** Column (`line_col & 0x3ff`). */
  column: number;
  extra?: Uint8Array;
}

/** CO-RE relocation kinds (`enum bpf_core_relo_kind`). */
export const BpfCoreReloKind = {
  FIELD_BYTE_OFFSET: 0, FIELD_BYTE_SIZE: 1, FIELD_EXISTS: 2, FIELD_SIGNED: 3, FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5, TYPE_ID_LOCAL: 6, TYPE_ID_TARGET: 7, TYPE_EXISTS: 8, TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10, ENUMVAL_VALUE: 11, TYPE_MATCHES: 12,
} as const;

/** One `bpf_core_relo`. */
export interface BtfExtCoreRelo {
  insnOff: number;
  /** Root type id in the object's BTF. */
  typeId: number;
  /** Access string, e.g. `"0:1:2"` (from `access_str_off`). */
  accessStr: string;
  /** {@link BpfCoreReloKind} value. */
  kind: number;
  extra?: Uint8Array;
}

/** The records of one ELF section. */
export interface BtfExtSection<R> {
  /** ELF section name (from `sec_name_off`), e.g. `"tc"` or `".text"`. */
  section: string;
  records: R[];
}

/** One info subsection (func_info, line_info or core_relo). */
export interface BtfExtInfo<R> {
  /** Size of each record as stored (`rec_size`). */
  recSize: number;
  sections: BtfExtSection<R>[];
}

/** A parsed `.BTF.ext`. */
export interface BtfExt {
  /** Byte order (from the magic). */
  littleEndian: boolean;
  /** Header flags (always 0 today). */
  flags: number;
  funcInfo: BtfExtInfo<BtfExtFuncInfo>;
  lineInfo: BtfExtInfo<BtfExtLineInfo>;
  /** CO-RE relocations; undefined when the header is too short to have the core_relo fields. */
  coreRelos: BtfExtInfo<BtfExtCoreRelo> | undefined;
}

type Kind = "func_info" | "line_info" | "core_relo";

interface RecordCodec<R> {
  readonly min: number;
  read(dv: DataView, at: number, le: boolean, str: (off: number, what: string) => string): R;
  write(dv: DataView, at: number, r: R, le: boolean, strOff: (s: string) => number): void;
}

const FI = { insn: BpfFuncInfoLayout.field("insn_off").offset, type: BpfFuncInfoLayout.field("type_id").offset };
const LI = {
  insn: BpfLineInfoLayout.field("insn_off").offset, file: BpfLineInfoLayout.field("file_name_off").offset,
  line: BpfLineInfoLayout.field("line_off").offset, col: BpfLineInfoLayout.field("line_col").offset,
};
const CR = {
  insn: BpfCoreReloLayout.field("insn_off").offset, type: BpfCoreReloLayout.field("type_id").offset,
  access: BpfCoreReloLayout.field("access_str_off").offset, kind: BpfCoreReloLayout.field("kind").offset,
};

const funcInfoCodec: RecordCodec<BtfExtFuncInfo> = {
  min: BpfFuncInfoLayout.size,
  read: (dv, at, le) => ({ insnOff: dv.getUint32(at + FI.insn, le), typeId: dv.getUint32(at + FI.type, le) }),
  write(dv, at, r, le) {
    dv.setUint32(at + FI.insn, u32(r.insnOff, "func_info insn_off"), le);
    dv.setUint32(at + FI.type, u32(r.typeId, "func_info type_id"), le);
  },
};

const lineInfoCodec: RecordCodec<BtfExtLineInfo> = {
  min: BpfLineInfoLayout.size,
  read(dv, at, le, str) {
    const lc = dv.getUint32(at + LI.col, le);
    return {
      insnOff: dv.getUint32(at + LI.insn, le),
      fileName: str(dv.getUint32(at + LI.file, le), "line_info file name"),
      line: str(dv.getUint32(at + LI.line, le), "line_info line"),
      lineNumber: lc >>> 10,
      column: lc & 0x3ff,
    };
  },
  write(dv, at, r, le, strOff) {
    dv.setUint32(at + LI.insn, u32(r.insnOff, "line_info insn_off"), le);
    dv.setUint32(at + LI.file, strOff(r.fileName), le);
    dv.setUint32(at + LI.line, strOff(r.line), le);
    dv.setUint32(at + LI.col, ((u32(r.lineNumber, "line number", 0x3fffff) << 10) | u32(r.column, "column", 0x3ff)) >>> 0, le);
  },
};

const coreReloCodec: RecordCodec<BtfExtCoreRelo> = {
  min: BpfCoreReloLayout.size,
  read: (dv, at, le, str) => ({
    insnOff: dv.getUint32(at + CR.insn, le),
    typeId: dv.getUint32(at + CR.type, le),
    accessStr: str(dv.getUint32(at + CR.access, le), "core_relo access string"),
    kind: dv.getUint32(at + CR.kind, le),
  }),
  write(dv, at, r, le, strOff) {
    dv.setUint32(at + CR.insn, u32(r.insnOff, "core_relo insn_off"), le);
    dv.setUint32(at + CR.type, u32(r.typeId, "core_relo type_id"), le);
    dv.setUint32(at + CR.access, strOff(r.accessStr), le);
    dv.setUint32(at + CR.kind, u32(r.kind, "core_relo kind"), le);
  },
};

function u32(v: number, what: string, max = 0xffffffff): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new BtfError("BTF_INVALID", `.BTF.ext ${what} ${v} is out of range (0..${max})`);
  return v;
}

/**
 * Parse a `.BTF.ext` blob. Section names, file names, source lines and CO-RE access
 * strings are resolved through the string table of the object's `.BTF` as it was parsed.
 *
 * @param bytes the `.BTF.ext` section.
 * @param btf the object's BTF as returned by {@link parseBtf} (its original string table
 *   is used), or the raw `.BTF` bytes, or a {@link StringTable}.
 * @throws BtfError `BTF_TRUNCATED`, `BTF_BAD_MAGIC`, `BTF_BAD_VERSION`, `BTF_BAD_HEADER`,
 *   `BTF_INVALID`, `BTF_BAD_STRING`.
 */
export function parseBtfExt(bytes: Uint8Array, btf: Btf | Uint8Array | StringTable): BtfExt {
  let strs: StringTable;
  if (btf instanceof Uint8Array) strs = btfStringTable(btf);
  else if (btf instanceof StringTable) strs = btf;
  else if (btf.sourceStrings) strs = btf.sourceStrings;
  else throw new BtfError("BTF_BAD_STRING", "parseBtfExt needs the string table of the parsed .BTF (this Btf was not produced by parseBtf)");
  if (bytes.length < 8) throw new BtfError("BTF_TRUNCATED", `.BTF.ext is ${bytes.length} bytes, too short for a header`, { offset: 0 });
  const m = bytes[0]! | (bytes[1]! << 8);
  let le: boolean;
  if (m === BTF_MAGIC) le = true;
  else if (m === 0x9feb) le = false;
  else throw new BtfError("BTF_BAD_MAGIC", `bad .BTF.ext magic 0x${m.toString(16).padStart(4, "0")}`, { offset: 0 });
  if (!BtfExtHeaderLayout.fits(bytes, 0)) throw new BtfError("BTF_TRUNCATED", `.BTF.ext is ${bytes.length} bytes, the header needs ${BtfExtHeaderLayout.size}`, { offset: 0 });
  const h = BtfExtHeaderLayout.read(bytes, 0, le);
  if (h.version !== BTF_VERSION) throw new BtfError("BTF_BAD_VERSION", `unsupported .BTF.ext version ${h.version}`, { offset: 2 });
  if (h.flags !== 0) throw new BtfError("BTF_BAD_HEADER", `unsupported .BTF.ext flags 0x${h.flags.toString(16)}`, { offset: 3 });
  if (h.hdr_len < BtfExtHeaderLayout.size) throw new BtfError("BTF_BAD_HEADER", `.BTF.ext hdr_len ${h.hdr_len} is smaller than ${BtfExtHeaderLayout.size}`, { offset: 4 });
  if (h.hdr_len > bytes.length) throw new BtfError("BTF_TRUNCATED", `.BTF.ext hdr_len ${h.hdr_len} exceeds the data (${bytes.length} bytes)`, { offset: 4 });
  const hasCore = h.hdr_len >= BtfExtCoreHeaderLayout.size;
  const core = hasCore ? BtfExtCoreHeaderLayout.read(bytes, 0, le) : undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const str = (off: number, what: string) => strs.get(off, what);
  return {
    littleEndian: le,
    flags: h.flags,
    funcInfo: parseInfo(bytes, dv, le, h.hdr_len, h.func_info_off, h.func_info_len, "func_info", funcInfoCodec, str),
    lineInfo: parseInfo(bytes, dv, le, h.hdr_len, h.line_info_off, h.line_info_len, "line_info", lineInfoCodec, str),
    coreRelos: core ? parseInfo(bytes, dv, le, h.hdr_len, core.core_relo_off, core.core_relo_len, "core_relo", coreReloCodec, str) : undefined,
  };
}

/** The string table of a raw `.BTF` blob (header validated). */
export function btfStringTable(btfBytes: Uint8Array): StringTable {
  const h = parseBtfHeader(btfBytes);
  const start = h.hdr_len + h.str_off;
  return new StringTable(btfBytes.subarray(start, start + h.str_len));
}

function parseInfo<R extends { extra?: Uint8Array }>(
  bytes: Uint8Array, dv: DataView, le: boolean, hdrLen: number, off: number, len: number, kind: Kind,
  codec: RecordCodec<R>, str: (off: number, what: string) => string,
): BtfExtInfo<R> {
  const info: BtfExtInfo<R> = { recSize: codec.min, sections: [] };
  if (len === 0) return info;
  if (off % 4 !== 0) throw new BtfError("BTF_BAD_HEADER", `.BTF.ext ${kind} offset ${off} is not 4-byte aligned`);
  let at = hdrLen + off;
  const end = at + len;
  if (end > bytes.length) throw new BtfError("BTF_TRUNCATED", `.BTF.ext ${kind} (off ${off}, len ${len}) runs past the section (${bytes.length} bytes)`, { offset: at });
  if (len < BtfExtRecSizeLayout.size) throw new BtfError("BTF_TRUNCATED", `.BTF.ext ${kind} is too short for its record size`, { offset: at });
  const recSize = BtfExtRecSizeLayout.read(bytes, at, le).rec_size;
  if (recSize < codec.min || recSize % 4 !== 0) {
    throw new BtfError("BTF_INVALID", `.BTF.ext ${kind} record size ${recSize} is invalid (at least ${codec.min}, multiple of 4)`, { offset: at });
  }
  info.recSize = recSize;
  at += BtfExtRecSizeLayout.size;
  if (at === end) throw new BtfError("BTF_INVALID", `.BTF.ext ${kind} has no records`, { offset: at });
  const secHdr = BtfExtInfoSecLayout;
  while (at < end) {
    if (at + secHdr.size > end) throw new BtfError("BTF_TRUNCATED", `.BTF.ext ${kind} section header at ${at} runs past the subsection`, { offset: at });
    const sh = secHdr.read(bytes, at, le);
    if (sh.num_info === 0) throw new BtfError("BTF_INVALID", `.BTF.ext ${kind} section at ${at} has no records`, { offset: at });
    const section = str(sh.sec_name_off, `.BTF.ext ${kind} section name`);
    at += secHdr.size;
    if (at + sh.num_info * recSize > end) {
      throw new BtfError("BTF_TRUNCATED", `.BTF.ext ${kind} section '${section}': ${sh.num_info} records of ${recSize} bytes run past the subsection`, { offset: at });
    }
    const records: R[] = new Array(sh.num_info);
    for (let i = 0; i < sh.num_info; i++, at += recSize) {
      const r = codec.read(dv, at, le, str);
      if (recSize > codec.min) r.extra = bytes.slice(at + codec.min, at + recSize);
      records[i] = r;
    }
    info.sections.push({ section, records });
  }
  return info;
}

/**
 * Every string a `.BTF.ext` refers to (section names, file names, lines, access strings);
 * add them to the BTF before encoding it, see {@link encodeBtfWithExt}.
 */
export function btfExtStrings(ext: BtfExt): Set<string> {
  const s = new Set<string>();
  const all: BtfExtInfo<object>[] = [ext.funcInfo, ext.lineInfo, ...(ext.coreRelos ? [ext.coreRelos] : [])];
  for (const info of all) for (const sec of info.sections) s.add(sec.section);
  for (const sec of ext.lineInfo.sections) for (const r of sec.records) { s.add(r.fileName); s.add(r.line); }
  for (const sec of ext.coreRelos?.sections ?? []) for (const r of sec.records) s.add(r.accessStr);
  return s;
}

/**
 * Encode a `.BTF.ext`. `stringOffset` maps each string to its offset in the `.BTF`
 * string table it will be loaded with (see {@link Btf.encodeWithStrings}).
 * The header includes the core_relo fields when `ext.coreRelos` is defined.
 *
 * @throws BtfError `BTF_BAD_STRING` when a string is missing from the table, `BTF_INVALID` for out-of-range fields.
 */
export function encodeBtfExt(ext: BtfExt, stringOffset: (s: string) => number | undefined, littleEndian = ext.littleEndian): Uint8Array {
  const strOff = (s: string) => {
    const o = stringOffset(s);
    if (o === undefined) throw new BtfError("BTF_BAD_STRING", `.BTF.ext string ${JSON.stringify(s)} is not in the BTF string table`);
    return o;
  };
  const hdrLen = ext.coreRelos ? BtfExtCoreHeaderLayout.size : BtfExtHeaderLayout.size;
  const infoLen = (info: BtfExtInfo<unknown>) =>
    info.sections.length === 0 ? 0
      : BtfExtRecSizeLayout.size + info.sections.reduce((n, s) => n + BtfExtInfoSecLayout.size + s.records.length * info.recSize, 0);
  const fLen = infoLen(ext.funcInfo);
  const lLen = infoLen(ext.lineInfo);
  const cLen = ext.coreRelos ? infoLen(ext.coreRelos) : 0;
  const out = new Uint8Array(hdrLen + fLen + lLen + cLen);
  const dv = new DataView(out.buffer);
  const le = littleEndian;
  BtfExtHeaderLayout.write(out, 0, {
    magic: BTF_MAGIC, version: BTF_VERSION, flags: ext.flags, hdr_len: hdrLen,
    func_info_off: 0, func_info_len: fLen, line_info_off: fLen, line_info_len: lLen,
  }, le);
  if (ext.coreRelos) BtfExtCoreHeaderLayout.write(out, 0, { core_relo_off: fLen + lLen, core_relo_len: cLen }, le);
  let at = hdrLen;
  at = writeInfo(out, dv, at, ext.funcInfo, funcInfoCodec, le, strOff, "func_info");
  at = writeInfo(out, dv, at, ext.lineInfo, lineInfoCodec, le, strOff, "line_info");
  if (ext.coreRelos) writeInfo(out, dv, at, ext.coreRelos, coreReloCodec, le, strOff, "core_relo");
  return out;
}

function writeInfo<R extends { extra?: Uint8Array }>(
  out: Uint8Array, dv: DataView, at: number, info: BtfExtInfo<R>, codec: RecordCodec<R>, le: boolean,
  strOff: (s: string) => number, kind: Kind,
): number {
  if (info.sections.length === 0) return at;
  if (info.recSize < codec.min || info.recSize % 4 !== 0) throw new BtfError("BTF_INVALID", `.BTF.ext ${kind} record size ${info.recSize} is invalid`);
  BtfExtRecSizeLayout.write(out, at, { rec_size: info.recSize }, le);
  at += BtfExtRecSizeLayout.size;
  for (const sec of info.sections) {
    if (sec.records.length === 0) throw new BtfError("BTF_INVALID", `.BTF.ext ${kind} section '${sec.section}' has no records`);
    BtfExtInfoSecLayout.write(out, at, { sec_name_off: strOff(sec.section), num_info: sec.records.length }, le);
    at += BtfExtInfoSecLayout.size;
    for (const r of sec.records) {
      codec.write(dv, at, r, le, strOff);
      if (r.extra) out.set(r.extra.subarray(0, info.recSize - codec.min), at + codec.min);
      at += info.recSize;
    }
  }
  return at;
}

/**
 * Encode a BTF and its `.BTF.ext` together, so every string the ext refers to is in the
 * BTF's (fresh) string table.
 */
export function encodeBtfWithExt(btf: Btf, ext: BtfExt, littleEndian = btf.littleEndian): { btf: Uint8Array; ext: Uint8Array } {
  const enc = btf.encodeWithStrings({ littleEndian, extraStrings: btfExtStrings(ext) });
  return { btf: enc.bytes, ext: encodeBtfExt(ext, enc.stringOffset, littleEndian) };
}

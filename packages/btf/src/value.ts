/**
 * Typed value codec: BTF-described bytes ↔ JS values, and text → value for
 * command-line `NAME=VALUE` input.
 *
 * | BTF type | JS value |
 * |---|---|
 * | INT ≤ 32 bits (incl. bitfields) | `number` |
 * | INT > 32 bits | `bigint` (a safe-integer `number` is accepted on input) |
 * | bool (INT with BOOL encoding) | `boolean` (0/1 accepted on input) |
 * | char array | `string` (cut at the first NUL; NUL-padded on encode) |
 * | ENUM / ENUM64 | enumerator name, or the number when none matches |
 * | FLOAT (4/8 bytes) | `number` |
 * | ARRAY | array |
 * | STRUCT / UNION / DATASEC | object by field / variable name (anonymous members flattened) |
 * | PTR | `bigint`: the raw 64-bit value (a BPF pointer has no meaning in user space) |
 *
 * TYPEDEF, CONST, VOLATILE, RESTRICT, TYPE_TAG and VAR are followed. Functions, forward
 * declarations and void are refused with `BTF_UNSUPPORTED_VALUE`.
 *
 * @packageDocumentation
 */
import type { Btf } from "./btf.js";
import { BtfError, type BtfErrorCode } from "./errors.js";
import { utf8Decoder, utf8Encoder } from "./text.js";
import { BtfIntEncoding, type BtfEnum, type BtfEnum64, type BtfType } from "./types.js";

/** A decoded value. */
export type BtfValue = number | bigint | boolean | string | BtfValue[] | { [field: string]: BtfValue };

/** Options of {@link encodeValue} and {@link decodeValue}. */
export interface ValueOptions {
  /** Byte order; defaults to the BTF's. */
  littleEndian?: boolean;
  /** Name used at the root of error paths (defaults to the VAR name when `typeId` is a VAR, else `"value"`). */
  path?: string;
}

const MAX_DEPTH = 64;

interface Ctx {
  btf: Btf;
  le: boolean;
  depth: number;
}

/** A scalar (INT, bool, ENUM, ENUM64) with its storage, in bits from a base byte. */
interface Scalar {
  signed: boolean;
  bool: boolean;
  /** Width in bits of the value. */
  bits: number;
  /** Bit offset from the base byte (0 for ordinary members). */
  bitOffset: number;
  /** Whether this is a true bitfield (not byte-aligned whole-size storage). */
  bitfield: boolean;
  enumType?: BtfEnum | BtfEnum64;
  /** Type name for messages. */
  label: string;
}

function err(code: BtfErrorCode, path: string, msg: string, typeId?: number, kind?: string): BtfError {
  return new BtfError(code, `${path || "value"}: ${msg}`, { btfTypeId: typeId, btfKind: kind || undefined });
}

/** Follow modifiers and VARs; returns [id, type]. */
function strip(btf: Btf, id: number): [number, BtfType] {
  const start = id;
  for (let steps = 0; ; steps++) {
    const t = btf.type(id);
    switch (t.kind) {
      case "TYPEDEF": case "VOLATILE": case "CONST": case "RESTRICT": case "TYPE_TAG": case "VAR":
        if (steps > btf.count) throw new BtfError("BTF_LOOP", `type [${start}]: reference chain loops`, { btfTypeId: start, btfKind: t.kind });
        id = t.type;
        break;
      default:
        return [id, t];
    }
  }
}

/** Follow qualifiers only (not typedefs): used to recognise `char` arrays. */
function stripQualifiers(btf: Btf, id: number): BtfType {
  for (let steps = 0; ; steps++) {
    const t = btf.type(id);
    if ((t.kind === "CONST" || t.kind === "VOLATILE" || t.kind === "RESTRICT" || t.kind === "TYPE_TAG") && steps <= btf.count) id = t.type;
    else return t;
  }
}

function isCharArrayElem(btf: Btf, elemId: number): boolean {
  const t = stripQualifiers(btf, elemId);
  return t.kind === "INT" && t.size === 1 && (t.name === "char" || (t.encoding & BtfIntEncoding.CHAR) !== 0);
}

function scalarOf(t: BtfType): Scalar | undefined {
  if (t.kind === "INT") {
    const bool = (t.encoding & BtfIntEncoding.BOOL) !== 0;
    const signed = (t.encoding & BtfIntEncoding.SIGNED) !== 0;
    const bitfield = t.offset !== 0 || t.bits !== t.size * 8;
    const bits = bitfield ? t.bits : t.size * 8;
    return { signed, bool, bits, bitOffset: t.offset, bitfield, label: bool ? "bool" : `${signed ? "s" : "u"}${bits}` };
  }
  if (t.kind === "ENUM" || t.kind === "ENUM64") {
    return { signed: t.signed, bool: false, bits: t.size * 8, bitOffset: 0, bitfield: false, enumType: t, label: `enum ${t.name || "(anon)"}` };
  }
  return undefined;
}

/** Flattened member of a STRUCT/UNION (anonymous composites expanded), absolute bit offsets. */
interface Field { name: string; type: number; bitOffset: number; bitSize: number }

function fields(ctx: Ctx, id: number, t: Extract<BtfType, { kind: "STRUCT" | "UNION" }>, base = 0, depth = 0): Field[] {
  if (depth > MAX_DEPTH) throw new BtfError("BTF_LOOP", `type [${id}]: anonymous members nest too deeply (loop?)`, { btfTypeId: id, btfKind: t.kind });
  const out: Field[] = [];
  for (const m of t.members) {
    const abs = base + m.bitOffset;
    if (m.name === "") {
      const [mid, mt] = strip(ctx.btf, m.type);
      if (mt.kind === "STRUCT" || mt.kind === "UNION") out.push(...fields(ctx, mid, mt, abs, depth + 1));
      continue; // unnamed bitfield padding
    }
    out.push({ name: m.name, type: m.type, bitOffset: abs, bitSize: m.bitSize });
  }
  return out;
}

function rangeOf(s: { signed: boolean; bits: number }): [bigint, bigint] {
  if (s.signed) return [-(1n << BigInt(s.bits - 1)), (1n << BigInt(s.bits - 1)) - 1n];
  return [0n, (1n << BigInt(s.bits)) - 1n];
}

// ---------- raw bit access ----------

function readBits(bytes: Uint8Array, base: number, bitOff: number, bits: number, le: boolean): bigint {
  const b0 = base + (bitOff >> 3);
  const b1 = base + ((bitOff + bits + 7) >> 3);
  let n = 0n;
  if (le) for (let i = b1 - 1; i >= b0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  else for (let i = b0; i < b1; i++) n = (n << 8n) | BigInt(bytes[i]!);
  const shift = le ? bitOff & 7 : 8 * (b1 - base) - (bitOff + bits);
  return (n >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
}

function writeBits(bytes: Uint8Array, base: number, bitOff: number, bits: number, le: boolean, v: bigint): void {
  const b0 = base + (bitOff >> 3);
  const b1 = base + ((bitOff + bits + 7) >> 3);
  let n = 0n;
  if (le) for (let i = b1 - 1; i >= b0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  else for (let i = b0; i < b1; i++) n = (n << 8n) | BigInt(bytes[i]!);
  const shift = BigInt(le ? bitOff & 7 : 8 * (b1 - base) - (bitOff + bits));
  const mask = ((1n << BigInt(bits)) - 1n) << shift;
  n = (n & ~mask) | ((BigInt.asUintN(bits, v) << shift) & mask);
  if (le) for (let i = b0; i < b1; i++) { bytes[i] = Number(n & 0xffn); n >>= 8n; }
  else for (let i = b1 - 1; i >= b0; i--) { bytes[i] = Number(n & 0xffn); n >>= 8n; }
}

// ---------- fields by path ----------

/** A member (or array element) inside a value, found by {@link valueField}. */
export interface ValueField {
  /** Its type. */
  readonly typeId: number;
  /** Bit offset from the start of the enclosing value. */
  readonly bitOffset: number;
  /** Bitfield width (0: not a bitfield). */
  readonly bitSize: number;
  /** The path as text, e.g. `cfg.limits.rate` or `ports[2]`. */
  readonly path: string;
}

/**
 * The member at `path` inside a value of type `typeId`: member names (anonymous struct/union
 * members are looked through, as in C) and array indexes (`"2"`).
 * @throws BtfError `BTF_NO_SUCH_FIELD` for a name the type has no member of (the message lists
 *   them) or a step into a type without members; `BTF_VALUE_RANGE` for an index past the array.
 */
export function valueField(btf: Btf, typeId: number, path: readonly string[], root = rootName(btf, typeId)): ValueField {
  const ctx: Ctx = { btf, le: btf.littleEndian, depth: 0 };
  let id = typeId, bitOffset = 0, bitSize = 0, text = root;
  for (const step of path) {
    const [sid, t] = strip(btf, id);
    if ((t.kind === "STRUCT" || t.kind === "UNION") && !/^\d+$/.test(step)) {
      const all = fields(ctx, sid, t);
      const f = all.find((x) => x.name === step);
      if (!f) throw err("BTF_NO_SUCH_FIELD", text, `${t.kind.toLowerCase()} ${t.name || "(anon)"} has no field '${step}' (fields: ${all.map((x) => x.name).join(", ")})`, sid, t.kind);
      id = f.type;
      bitOffset += f.bitOffset;
      bitSize = f.bitSize;
      text = join(text, step);
    } else if (t.kind === "ARRAY" && /^\d+$/.test(step)) {
      const i = Number(step);
      if (i >= t.nelems) throw err("BTF_VALUE_RANGE", text, `index ${i} is outside the array of ${t.nelems}`, sid, t.kind);
      id = t.type;
      bitOffset += i * btf.sizeof(t.type) * 8;
      bitSize = 0;
      text = `${text}[${i}]`;
    } else {
      throw err("BTF_NO_SUCH_FIELD", text, `cannot select '${step}' in a ${t.kind.toLowerCase()} value`, sid, t.kind);
    }
  }
  return { typeId: id, bitOffset, bitSize, path: text };
}

/** Decode only the member at `path` of a value of type `typeId` held in `bytes` (siblings are not read). */
export function decodeValueAt(btf: Btf, typeId: number, path: readonly string[], bytes: Uint8Array, littleEndian?: boolean): BtfValue {
  const f = valueField(btf, typeId, path);
  const ctx: Ctx = { btf, le: littleEndian ?? btf.littleEndian, depth: 0 };
  const size = btf.sizeof(typeId);
  if (bytes.length < size) throw err("BTF_TRUNCATED", f.path, `needs ${size} bytes, got ${bytes.length}`, typeId);
  return decodeField(ctx, { name: f.path, type: f.typeId, bitOffset: f.bitOffset, bitSize: f.bitSize }, bytes, 0, f.path);
}

/**
 * Encode `value` into only the member at `path` of a value of type `typeId` held in `out`
 * (the other members' bytes, and bits sharing a bitfield's storage, are left as they are).
 */
export function encodeValueAt(btf: Btf, typeId: number, path: readonly string[], value: BtfValue, out: Uint8Array, littleEndian?: boolean): void {
  const f = valueField(btf, typeId, path);
  const ctx: Ctx = { btf, le: littleEndian ?? btf.littleEndian, depth: 0 };
  const size = btf.sizeof(typeId);
  if (out.length < size) throw err("BTF_TRUNCATED", f.path, `needs ${size} bytes, the buffer has ${out.length}`, typeId);
  encodeField(ctx, { name: f.path, type: f.typeId, bitOffset: f.bitOffset, bitSize: f.bitSize }, value, out, 0, f.path);
}

// ---------- decode ----------

/**
 * Decode the value of type `typeId` from the start of `bytes` (at least `sizeof` bytes).
 * @throws BtfError `BTF_TRUNCATED` when `bytes` is too short, `BTF_UNSUPPORTED_VALUE` for
 *   functions and other non-data types.
 */
export function decodeValue(btf: Btf, typeId: number, bytes: Uint8Array, littleEndian?: boolean | ValueOptions): BtfValue {
  const o = typeof littleEndian === "object" ? littleEndian : { littleEndian };
  const ctx: Ctx = { btf, le: o.littleEndian ?? btf.littleEndian, depth: 0 };
  const root = o.path ?? rootName(btf, typeId);
  const size = btf.sizeof(typeId);
  if (bytes.length < size) throw err("BTF_TRUNCATED", root, `needs ${size} bytes, got ${bytes.length}`, typeId);
  return decodeAt(ctx, typeId, bytes, 0, root);
}

function rootName(btf: Btf, id: number): string {
  const t = Number.isInteger(id) && id >= 0 && id < btf.count ? btf.type(id) : undefined;
  return t && t.kind === "VAR" ? t.name : "";
}

function decodeAt(ctx: Ctx, typeId: number, bytes: Uint8Array, off: number, path: string): BtfValue {
  if (++ctx.depth > MAX_DEPTH) throw err("BTF_LOOP", path, "types nest too deeply (loop?)", typeId);
  try {
    const [id, t] = strip(ctx.btf, typeId);
    const sc = scalarOf(t);
    if (sc) return decodeScalar(sc, bytes, off, sc.bitOffset, sc.bitfield, ctx.le);
    switch (t.kind) {
      case "FLOAT": {
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (t.size === 4) return dv.getFloat32(off, ctx.le);
        if (t.size === 8) return dv.getFloat64(off, ctx.le);
        throw err("BTF_UNSUPPORTED_VALUE", path, `${t.size}-byte floats are not supported`, id, t.kind);
      }
      case "PTR":
        // A BPF pointer means nothing to user space: its raw 64 bits, as bpftool prints them.
        return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(off, ctx.le);
      case "ARRAY": {
        if (isCharArrayElem(ctx.btf, t.type)) {
          const chunk = bytes.subarray(off, off + t.nelems);
          const nul = chunk.indexOf(0);
          return utf8Decoder.decode(nul < 0 ? chunk : chunk.subarray(0, nul));
        }
        const stride = ctx.btf.sizeof(t.type);
        const out: BtfValue[] = new Array(t.nelems);
        for (let i = 0; i < t.nelems; i++) out[i] = decodeAt(ctx, t.type, bytes, off + i * stride, `${path}[${i}]`);
        return out;
      }
      case "STRUCT": case "UNION": {
        const out: { [k: string]: BtfValue } = {};
        for (const f of fields(ctx, id, t)) out[f.name] = decodeField(ctx, f, bytes, off, join(path, f.name));
        return out;
      }
      case "DATASEC": {
        const out: { [k: string]: BtfValue } = {};
        for (const v of t.vars) {
          const vt = ctx.btf.type(v.type);
          if (vt.kind !== "VAR") continue;
          out[vt.name] = decodeAt(ctx, v.type, bytes, off + v.offset, join(path, vt.name));
        }
        return out;
      }
      default:
        throw unsupported(path, id, t);
    }
  } finally {
    ctx.depth--;
  }
}

function join(path: string, name: string): string { return path ? `${path}.${name}` : name; }

function unsupported(path: string, id: number, t: BtfType): BtfError {
  const what = t.kind === "PTR" ? "pointers" : t.kind === "FUNC" || t.kind === "FUNC_PROTO" ? "functions" : t.kind === "FWD" ? "forward-declared types" : t.kind === "VOID" ? "void" : `${t.kind} types`;
  return err("BTF_UNSUPPORTED_VALUE", path, `${what} cannot be decoded or encoded as values (type [${id}] ${t.kind})`, id, t.kind);
}

function decodeField(ctx: Ctx, f: Field, bytes: Uint8Array, base: number, path: string): BtfValue {
  const [, mt] = strip(ctx.btf, f.type);
  const sc = scalarOf(mt);
  if (sc && (f.bitSize > 0 || sc.bitfield || f.bitOffset % 8 !== 0)) {
    const bits = f.bitSize > 0 ? f.bitSize : sc.bits;
    const bitOff = f.bitOffset + (f.bitSize > 0 ? 0 : sc.bitOffset);
    return decodeScalar({ ...sc, bits, bitfield: true }, bytes, base, bitOff, true, ctx.le);
  }
  if (f.bitOffset % 8 !== 0) throw err("BTF_INVALID", path, `member at bit offset ${f.bitOffset} is not byte-aligned`);
  return decodeAt(ctx, f.type, bytes, base + f.bitOffset / 8, path);
}

function decodeScalar(sc: Scalar, bytes: Uint8Array, base: number, bitOff: number, bitfield: boolean, le: boolean): BtfValue {
  let raw: bigint | number;
  if (!bitfield && sc.bits <= 32) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    switch (sc.bits) {
      case 8: raw = sc.signed ? dv.getInt8(base) : dv.getUint8(base); break;
      case 16: raw = sc.signed ? dv.getInt16(base, le) : dv.getUint16(base, le); break;
      case 32: raw = sc.signed ? dv.getInt32(base, le) : dv.getUint32(base, le); break;
      default: raw = signExtend(readBits(bytes, base, 0, sc.bits, le), sc);
    }
  } else {
    raw = signExtend(readBits(bytes, base, bitOff, sc.bits, le), sc);
  }
  if (sc.bool) return raw !== 0 && raw !== 0n;
  if (sc.enumType) {
    const big = BigInt(raw);
    for (const v of sc.enumType.values) if (BigInt(v.value) === big) return v.name;
  }
  if (typeof raw === "bigint" && sc.bits <= 32) return Number(raw);
  if (typeof raw === "number" && sc.bits > 32) return BigInt(raw);
  return raw;
}

function signExtend(v: bigint, sc: { signed: boolean; bits: number }): bigint {
  return sc.signed ? BigInt.asIntN(sc.bits, v) : v;
}

// ---------- encode ----------

/**
 * Encode `value` as type `typeId` into the first `sizeof(typeId)` bytes of `out`
 * (other bytes are untouched). Struct fields missing from `value` keep their bytes;
 * arrays shorter than the type leave the remaining elements as they are.
 *
 * @throws BtfError `BTF_VALUE_RANGE` (out of range, too long), `BTF_BAD_VALUE` (wrong JS type,
 *   unknown field or enumerator), `BTF_UNSUPPORTED_VALUE` (functions, forward declarations…). Messages
 *   carry the path, e.g. `cfg_limits.rate: 4294967296 is out of range for u32 (0..4294967295)`.
 */
export function encodeValue(btf: Btf, typeId: number, value: BtfValue, out: Uint8Array, littleEndian?: boolean | ValueOptions): void {
  const o = typeof littleEndian === "object" ? littleEndian : { littleEndian };
  const ctx: Ctx = { btf, le: o.littleEndian ?? btf.littleEndian, depth: 0 };
  const root = o.path ?? rootName(btf, typeId);
  const size = btf.sizeof(typeId);
  if (out.length < size) throw err("BTF_TRUNCATED", root, `needs ${size} bytes, the buffer has ${out.length}`, typeId);
  encodeAt(ctx, typeId, value, out, 0, root);
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return String(v);
}

function encodeAt(ctx: Ctx, typeId: number, value: BtfValue, out: Uint8Array, off: number, path: string): void {
  if (++ctx.depth > MAX_DEPTH) throw err("BTF_LOOP", path, "types nest too deeply (loop?)", typeId);
  try {
    const [id, t] = strip(ctx.btf, typeId);
    const sc = scalarOf(t);
    if (sc) {
      encodeScalar(sc, value, out, off, sc.bitOffset, sc.bitfield, ctx.le, path, id);
      return;
    }
    switch (t.kind) {
      case "FLOAT": {
        if (typeof value !== "number") throw err("BTF_BAD_VALUE", path, `expected a number for ${t.name || "float"}, got ${describe(value)}`, id, t.kind);
        const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
        if (t.size === 4) {
          if (Number.isFinite(value) && Math.abs(value) > 3.4028234663852886e38) throw err("BTF_VALUE_RANGE", path, `${value} is out of range for ${t.name || "float"} (±3.4028234663852886e38)`, id, t.kind);
          dv.setFloat32(off, value, ctx.le);
        } else if (t.size === 8) dv.setFloat64(off, value, ctx.le);
        else throw err("BTF_UNSUPPORTED_VALUE", path, `${t.size}-byte floats are not supported`, id, t.kind);
        return;
      }
      case "PTR": {
        const raw = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
        if (typeof raw !== "bigint") throw err("BTF_BAD_VALUE", path, `expected a number for a pointer (its raw 64-bit value), got ${describe(value)}`, id, t.kind);
        if (raw < 0n || raw > 0xffffffffffffffffn) throw err("BTF_VALUE_RANGE", path, `${raw} is out of range for a 64-bit pointer`, id, t.kind);
        new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(off, raw, ctx.le);
        return;
      }
      case "ARRAY": {
        if (typeof value === "string" && isCharArrayElem(ctx.btf, t.type)) {
          const b = utf8Encoder.encode(value);
          if (b.length > t.nelems) {
            throw err("BTF_VALUE_RANGE", path, `string of ${b.length} bytes does not fit char[${t.nelems}] (at most ${t.nelems} bytes)`, id, t.kind);
          }
          out.fill(0, off, off + t.nelems);
          out.set(b, off);
          return;
        }
        if (!Array.isArray(value)) {
          const want = isCharArrayElem(ctx.btf, t.type) ? "a string or an array" : "an array";
          throw err("BTF_BAD_VALUE", path, `expected ${want} for ${t.nelems}-element array, got ${describe(value)}`, id, t.kind);
        }
        if (value.length > t.nelems) throw err("BTF_VALUE_RANGE", path, `array of ${value.length} elements does not fit ${t.nelems} elements`, id, t.kind);
        const stride = ctx.btf.sizeof(t.type);
        for (let i = 0; i < value.length; i++) encodeAt(ctx, t.type, value[i]!, out, off + i * stride, `${path}[${i}]`);
        return;
      }
      case "STRUCT": case "UNION": {
        const obj = asObject(value, path, id, t);
        const fs = fields(ctx, id, t);
        const byName = new Map(fs.map((f) => [f.name, f]));
        for (const [k, v] of Object.entries(obj)) {
          const f = byName.get(k);
          if (!f) {
            throw err("BTF_BAD_VALUE", path, `${t.kind.toLowerCase()} ${t.name || "(anon)"} has no field '${k}' (fields: ${fs.map((x) => x.name).join(", ")})`, id, t.kind);
          }
          if (v === undefined) continue;
          encodeField(ctx, f, v, out, off, join(path, k));
        }
        return;
      }
      case "DATASEC": {
        const obj = asObject(value, path, id, t);
        const vars = new Map<string, { type: number; offset: number }>();
        for (const v of t.vars) {
          const vt = ctx.btf.type(v.type);
          if (vt.kind === "VAR") vars.set(vt.name, v);
        }
        for (const [k, v] of Object.entries(obj)) {
          const e = vars.get(k);
          if (!e) throw err("BTF_BAD_VALUE", path, `section ${t.name} has no variable '${k}' (variables: ${[...vars.keys()].join(", ")})`, id, t.kind);
          if (v === undefined) continue;
          encodeAt(ctx, e.type, v, out, off + e.offset, join(path, k));
        }
        return;
      }
      default:
        throw unsupported(path, id, t);
    }
  } finally {
    ctx.depth--;
  }
}

function asObject(value: BtfValue, path: string, id: number, t: BtfType): { [k: string]: BtfValue } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw err("BTF_BAD_VALUE", path, `expected an object for ${t.kind.toLowerCase()} ${t.name || "(anon)"}, got ${describe(value)}`, id, t.kind);
  }
  return value;
}

function encodeField(ctx: Ctx, f: Field, value: BtfValue, out: Uint8Array, base: number, path: string): void {
  const [id, mt] = strip(ctx.btf, f.type);
  const sc = scalarOf(mt);
  if (sc && (f.bitSize > 0 || sc.bitfield || f.bitOffset % 8 !== 0)) {
    const bits = f.bitSize > 0 ? f.bitSize : sc.bits;
    const bitOff = f.bitOffset + (f.bitSize > 0 ? 0 : sc.bitOffset);
    const label = sc.bool ? "bool bitfield" : sc.enumType ? `${bits}-bit ${sc.label} bitfield` : `${bits}-bit ${sc.signed ? "signed" : "unsigned"} bitfield`;
    encodeScalar({ ...sc, bits, bitfield: true, label }, value, out, base, bitOff, true, ctx.le, path, id);
    return;
  }
  if (f.bitOffset % 8 !== 0) throw err("BTF_INVALID", path, `member at bit offset ${f.bitOffset} is not byte-aligned`);
  encodeAt(ctx, f.type, value, out, base + f.bitOffset / 8, path);
}

function encodeScalar(sc: Scalar, value: BtfValue, out: Uint8Array, base: number, bitOff: number, bitfield: boolean, le: boolean, path: string, id: number): void {
  let n: bigint;
  if (sc.bool) {
    if (typeof value === "boolean") n = value ? 1n : 0n;
    else if (value === 0 || value === 1 || value === 0n || value === 1n) n = BigInt(value);
    else throw err("BTF_BAD_VALUE", path, `expected true or false for bool, got ${describe(value)}`, id);
  } else if (typeof value === "string" && sc.enumType) {
    const e = sc.enumType.values.find((v) => v.name === value);
    if (!e) {
      throw err("BTF_BAD_VALUE", path, `${describe(value)} is not an enumerator of ${sc.label} (${sc.enumType.values.map((v) => v.name).join(", ")})`, id, sc.enumType.kind);
    }
    n = BigInt(e.value);
  } else if (typeof value === "bigint") n = value;
  else if (typeof value === "number") {
    if (!Number.isInteger(value)) throw err("BTF_BAD_VALUE", path, `${value} is not an integer (${sc.label})`, id);
    if (!Number.isSafeInteger(value)) throw err("BTF_BAD_VALUE", path, `${value} is not a safe integer; pass a bigint for ${sc.label}`, id);
    n = BigInt(value);
  } else {
    const want = sc.enumType ? "an enumerator name or an integer" : "an integer";
    throw err("BTF_BAD_VALUE", path, `expected ${want} for ${sc.label}, got ${describe(value)}`, id);
  }
  const [lo, hi] = rangeOf(sc);
  if (n < lo || n > hi) {
    throw err("BTF_VALUE_RANGE", path, `${n} is out of range for ${sc.label} (${lo}..${hi})`, id);
  }
  if (!bitfield && sc.bits % 8 === 0) {
    const bytes = sc.bits / 8;
    let u = BigInt.asUintN(sc.bits, n);
    if (le) for (let i = 0; i < bytes; i++) { out[base + i] = Number(u & 0xffn); u >>= 8n; }
    else for (let i = bytes - 1; i >= 0; i--) { out[base + i] = Number(u & 0xffn); u >>= 8n; }
    return;
  }
  writeBits(out, base, bitOff, sc.bits, le, n);
}

// ---------- text input ----------

/** `"…"` is a JSON string literal (so shells can pass spaces and escapes); anything else is taken as is. */
function unquote(text: string, path: string, typeId: number): string {
  if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return text;
  try {
    return JSON.parse(text) as string;
  } catch (e) {
    throw err("BTF_BAD_VALUE", path, `bad quoted string ${text}: ${(e as Error).message}`, typeId, "ARRAY");
  }
}

/**
 * Parse command-line text as a value of type `typeId`, and validate it by encoding.
 *
 * - integers: decimal, `0x` hex, `0o` octal, `0b` binary, with an optional `-`/`+`;
 * - bool: `true`/`false` (or `1`/`0`);
 * - enums: an enumerator name or an integer;
 * - floats: any JS number literal (`inf`, `nan` too);
 * - char arrays: the text itself, or a JSON string literal (`"a b"`, with escapes) when it is quoted;
 * - other arrays, structs, unions, DATASECs: JSON, with integers kept exact (bigint when
 *   needed) and strings accepted wherever an integer is (e.g. `{"rate": "0x10"}`).
 *
 * @throws BtfError `BTF_BAD_VALUE`, `BTF_VALUE_RANGE`, `BTF_UNSUPPORTED_VALUE`.
 */
export function parseValue(btf: Btf, typeId: number, text: string, options: ValueOptions = {}): BtfValue {
  const root = options.path ?? rootName(btf, typeId);
  const ctx: Ctx = { btf, le: options.littleEndian ?? btf.littleEndian, depth: 0 };
  const [id, t] = strip(btf, typeId);
  let v: BtfValue;
  if (t.kind === "ARRAY" && isCharArrayElem(btf, t.type)) v = coerce(ctx, id, unquote(text, root, id), root);
  else if (scalarOf(t) || t.kind === "FLOAT") v = coerce(ctx, id, text, root);
  else if (t.kind === "ARRAY" || t.kind === "STRUCT" || t.kind === "UNION" || t.kind === "DATASEC") {
    let j: Json;
    try {
      j = parseJson(text);
    } catch (e) {
      throw err("BTF_BAD_VALUE", root, `expected JSON for ${t.kind.toLowerCase()}: ${(e as Error).message}`, id, t.kind);
    }
    v = coerce(ctx, id, j, root);
  } else throw unsupported(root, id, t);
  const scratch = new Uint8Array(btf.sizeof(id));
  encodeAt(ctx, id, v, scratch, 0, root);
  return v;
}

type Json = string | number | bigint | boolean | null | Json[] | { [k: string]: Json };

/** Turn text or JSON into a value of the right JS type for `typeId` (range checks happen in encode). */
function coerce(ctx: Ctx, typeId: number, j: Json, path: string): BtfValue {
  if (++ctx.depth > MAX_DEPTH) throw err("BTF_LOOP", path, "types nest too deeply (loop?)", typeId);
  try {
    const [id, t] = strip(ctx.btf, typeId);
    if (j === null) throw err("BTF_BAD_VALUE", path, "null is not a value", id, t.kind);
    const sc = scalarOf(t);
    if (sc) {
      if (typeof j === "number" && Number.isInteger(j) && !sc.bool) return sc.bits > 32 ? BigInt(j) : j;
      if (typeof j === "bigint" && sc.bits <= 32 && j >= -0x80000000n && j <= 0xffffffffn) return Number(j);
      if (typeof j !== "string") return j as BtfValue;
      const s = j.trim();
      if (sc.bool) {
        const l = s.toLowerCase();
        if (l === "true" || l === "1") return true;
        if (l === "false" || l === "0") return false;
        throw err("BTF_BAD_VALUE", path, `expected true or false, got ${JSON.stringify(j)}`, id, t.kind);
      }
      if (sc.enumType && sc.enumType.values.some((v) => v.name === s)) return s;
      const n = parseIntText(s);
      if (n === undefined) {
        const names = sc.enumType ? ` or one of ${sc.enumType.values.map((v) => v.name).join(", ")}` : "";
        throw err("BTF_BAD_VALUE", path, `${JSON.stringify(j)} is not an integer${names}`, id, t.kind);
      }
      const [lo, hi] = rangeOf(sc);
      if (n < lo || n > hi) throw err("BTF_VALUE_RANGE", path, `${n} is out of range for ${sc.label} (${lo}..${hi})`, id, t.kind);
      return sc.bits <= 32 ? Number(n) : n;
    }
    switch (t.kind) {
      case "FLOAT": {
        if (typeof j === "number") return j;
        if (typeof j === "bigint") return Number(j);
        if (typeof j !== "string") throw err("BTF_BAD_VALUE", path, `expected a number, got ${describe(j)}`, id, t.kind);
        const s = j.trim().toLowerCase();
        const x = s === "nan" ? NaN : s === "inf" || s === "+inf" || s === "infinity" ? Infinity : s === "-inf" || s === "-infinity" ? -Infinity : s === "" ? NaN : Number(s);
        if (Number.isNaN(x) && s !== "nan") throw err("BTF_BAD_VALUE", path, `${JSON.stringify(j)} is not a number`, id, t.kind);
        return x;
      }
      case "ARRAY": {
        if (typeof j === "string" && isCharArrayElem(ctx.btf, t.type)) return j;
        if (!Array.isArray(j)) throw err("BTF_BAD_VALUE", path, `expected an array, got ${describe(j)}`, id, t.kind);
        return j.map((x, i) => coerce(ctx, t.type, x, `${path}[${i}]`));
      }
      case "STRUCT": case "UNION": {
        if (typeof j !== "object" || Array.isArray(j)) throw err("BTF_BAD_VALUE", path, `expected a JSON object, got ${describe(j)}`, id, t.kind);
        const byName = new Map(fields(ctx, id, t).map((f) => [f.name, f]));
        const out: { [k: string]: BtfValue } = {};
        for (const [k, x] of Object.entries(j as { [k: string]: Json })) {
          const f = byName.get(k);
          out[k] = f ? coerce(ctx, f.type, x, join(path, k)) : (x as BtfValue); // unknown names are reported by encode
        }
        return out;
      }
      case "DATASEC": {
        if (typeof j !== "object" || Array.isArray(j)) throw err("BTF_BAD_VALUE", path, `expected a JSON object, got ${describe(j)}`, id, t.kind);
        const vars = new Map<string, number>();
        for (const v of t.vars) {
          const vt = ctx.btf.type(v.type);
          if (vt.kind === "VAR") vars.set(vt.name, v.type);
        }
        const out: { [k: string]: BtfValue } = {};
        for (const [k, x] of Object.entries(j as { [k: string]: Json })) {
          const vid = vars.get(k);
          out[k] = vid !== undefined ? coerce(ctx, vid, x, join(path, k)) : (x as BtfValue);
        }
        return out;
      }
      default:
        throw unsupported(path, id, t);
    }
  } finally {
    ctx.depth--;
  }
}

/** Parse integer text: decimal, 0x/0o/0b, optional sign, `_` separators. Undefined when malformed. */
export function parseIntText(text: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$/.exec(text.trim());
  if (!m) return undefined;
  const digits = m[2]!.replace(/_/g, "");
  if (/^0[xXoObB]$/.test(digits)) return undefined;
  const v = BigInt(digits);
  return m[1] === "-" ? -v : v;
}

/** JSON parser that keeps integers exact (bigint beyond the safe range). */
function parseJson(text: string): Json {
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i]!)) i++; };
  const fail = (what: string): never => { throw new Error(`${what} at position ${i}`); };
  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const o: { [k: string]: Json } = {};
      ws();
      if (text[i] === "}") { i++; return o; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a string key");
        const k = str();
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        Object.defineProperty(o, k, { value: value(), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return o; }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const a: Json[] = [];
      ws();
      if (text[i] === "]") { i++; return a; }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return a; }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (!m) return fail("unexpected input");
    i += m[0].length;
    if (m[0] === "true") return true;
    if (m[0] === "false") return false;
    if (m[0] === "null") return null;
    if (m[1] === undefined && m[2] === undefined) {
      const b = BigInt(m[0]);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    return Number(m[0]);
  };
  const str = (): string => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
    if (!m) return fail("bad string");
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const v = value();
  ws();
  if (i !== text.length) fail("trailing input");
  return v;
}

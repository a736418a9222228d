/**
 * Declarative binary layouts: a struct is declared once as a list of named fields,
 * and its reader and writer are derived from that declaration. Every package of @x
 * that reads or writes a fixed record (ELF headers, BTF records, bpf_attr) uses this,
 * so no offset is typed by hand twice.
 *
 * @packageDocumentation
 */

/** Scalar field kinds. 64-bit fields are `bigint`, everything narrower is `number`. */
export type ScalarKind = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64";

/** A field: a scalar, or a fixed run of raw bytes (`{ bytes: n }`). */
export type FieldKind = ScalarKind | { readonly bytes: number };

/** One field of a layout declaration: `[name, kind]`, or `[name, kind, offset]` to pin an explicit offset. */
export type FieldDecl = readonly [name: string, kind: FieldKind] | readonly [name: string, kind: FieldKind, offset: number];

type ValueOf<K> = K extends "u64" | "i64" ? bigint : K extends ScalarKind ? number : Uint8Array;

/** The JS record type a field list decodes to. */
export type RecordOf<F extends readonly FieldDecl[]> = {
  -readonly [D in F[number] as D[0]]: ValueOf<D[1]>;
};

/** A field with its resolved offset and size. */
export interface FieldInfo {
  readonly name: string;
  readonly kind: FieldKind;
  readonly offset: number;
  readonly size: number;
}

/** Thrown when a record does not fit in the bytes it is read from or written to. */
export class LayoutBoundsError extends RangeError {
  /** Stable error code. */
  readonly code = "LAYOUT_OUT_OF_BOUNDS";
  constructor(
    /** Layout (struct) name. */
    readonly layout: string,
    /** Offset the record was to start at. */
    readonly offset: number,
    /** Bytes the record needs. */
    readonly needed: number,
    /** Bytes available in the buffer. */
    readonly available: number,
  ) {
    super(`${layout} at offset ${offset} needs ${needed} bytes, but only ${Math.max(0, available - offset)} remain (buffer is ${available} bytes)`);
    this.name = "LayoutBoundsError";
  }
}

const SCALAR_SIZE: Record<ScalarKind, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };

function sizeOf(kind: FieldKind): number {
  return typeof kind === "string" ? SCALAR_SIZE[kind] : kind.bytes;
}

/** A declared binary layout with derived reader, writer and encoder. */
export interface Layout<T> {
  /** Name used in error messages (e.g. `Elf64_Shdr`). */
  readonly name: string;
  /** Size in bytes (the declared size, or the end of the last field). */
  readonly size: number;
  /** Fields in declaration order, with resolved offsets. */
  readonly fields: readonly FieldInfo[];
  /** Field lookup by name. */
  field(name: keyof T & string): FieldInfo;
  /** Decode one record at `offset`. Throws {@link LayoutBoundsError} if it does not fit. */
  read(bytes: Uint8Array, offset: number, littleEndian: boolean): T;
  /** Encode `value` at `offset`; missing fields are left as they are in `bytes`. */
  write(bytes: Uint8Array, offset: number, value: Partial<T>, littleEndian: boolean): void;
  /** Encode a fresh zero-filled record. */
  encode(value: Partial<T>, littleEndian: boolean): Uint8Array;
  /** Whether a record at `offset` fits in `bytes`. */
  fits(bytes: Uint8Array, offset: number): boolean;
}

/**
 * Declare a struct layout. Fields are packed in order unless an explicit offset is given;
 * `size` pads the record (for unions such as `bpf_attr`, or trailing padding).
 *
 * @example
 * const Hdr = struct("hdr", [["magic", "u16"], ["version", "u8"], ["flags", "u8"]]);
 * Hdr.read(bytes, 0, true).magic;
 */
export function struct<const F extends readonly FieldDecl[]>(name: string, decls: F, size?: number): Layout<RecordOf<F>> {
  type T = RecordOf<F>;
  const fields: FieldInfo[] = [];
  let cursor = 0;
  for (const d of decls) {
    const offset = d.length === 3 ? d[2] : cursor;
    const fsize = sizeOf(d[1]);
    fields.push({ name: d[0], kind: d[1], offset, size: fsize });
    cursor = offset + fsize;
  }
  const end = fields.reduce((m, f) => Math.max(m, f.offset + f.size), 0);
  const total = size ?? end;
  if (total < end) throw new Error(`layout ${name}: declared size ${total} is smaller than its fields (${end})`);
  const byName = new Map(fields.map((f) => [f.name, f]));


  const check = (bytes: Uint8Array, offset: number) => {
    if (!Number.isInteger(offset) || offset < 0 || offset + total > bytes.byteLength) {
      throw new LayoutBoundsError(name, offset, total, bytes.byteLength);
    }
  };

  return {
    name,
    size: total,
    fields,
    field(n) {
      const f = byName.get(n);
      if (!f) throw new Error(`layout ${name} has no field ${n}`);
      return f;
    },
    fits: (bytes, offset) => offset >= 0 && offset + total <= bytes.byteLength,
    read(bytes, offset, le) {
      check(bytes, offset);
      const dv = viewOf(bytes);
      const base = bytes.byteOffset + offset;
      const out: Record<string, unknown> = {};
      for (const f of fields) out[f.name] = readField(dv, bytes, base + f.offset, offset + f.offset, f.kind, le);
      return out as T;
    },
    write(bytes, offset, value, le) {
      check(bytes, offset);
      const dv = viewOf(bytes);
      const base = bytes.byteOffset + offset;
      const rec = value as Record<string, unknown>;
      for (const f of fields) {
        const v = rec[f.name];
        if (v !== undefined) writeField(dv, bytes, base + f.offset, offset + f.offset, f, v, le, name);
      }
    },
    encode(value, le) {
      const bytes = new Uint8Array(total);
      this.write(bytes, 0, value, le);
      return bytes;
    },
  };
}

// One DataView per underlying buffer: records are read by the thousand, and a view per read dominated parsing.
const views = new WeakMap<ArrayBufferLike, DataView>();
function viewOf(bytes: Uint8Array): DataView {
  let dv = views.get(bytes.buffer);
  // A resizable or grown buffer needs a fresh view; a shorter cached view would be wrong.
  if (!dv || dv.byteLength !== bytes.buffer.byteLength) {
    dv = new DataView(bytes.buffer);
    views.set(bytes.buffer, dv);
  }
  return dv;
}

/** `at` is the absolute offset in the underlying buffer; `rel` the offset within `bytes`. */
function readField(dv: DataView, bytes: Uint8Array, at: number, rel: number, kind: FieldKind, le: boolean): number | bigint | Uint8Array {
  switch (kind) {
    case "u8": return dv.getUint8(at);
    case "i8": return dv.getInt8(at);
    case "u16": return dv.getUint16(at, le);
    case "i16": return dv.getInt16(at, le);
    case "u32": return dv.getUint32(at, le);
    case "i32": return dv.getInt32(at, le);
    case "u64": return dv.getBigUint64(at, le);
    case "i64": return dv.getBigInt64(at, le);
    default: return bytes.subarray(rel, rel + kind.bytes);
  }
}

function writeField(dv: DataView, bytes: Uint8Array, at: number, rel: number, f: FieldInfo, v: unknown, le: boolean, layout: string): void {
  const kind = f.kind;
  if (typeof kind !== "string") {
    if (!(v instanceof Uint8Array) || v.byteLength > kind.bytes) {
      throw new RangeError(`${layout}.${f.name}: expected up to ${kind.bytes} bytes`);
    }
    bytes.fill(0, rel, rel + kind.bytes);
    bytes.set(v, rel);
    return;
  }
  if (kind === "u64" || kind === "i64") {
    const b = typeof v === "bigint" ? v : BigInt(v as number);
    if (kind === "u64") dv.setBigUint64(at, BigInt.asUintN(64, b), le);
    else dv.setBigInt64(at, BigInt.asIntN(64, b), le);
    return;
  }
  const n = Number(v);
  if (!Number.isInteger(n)) throw new RangeError(`${layout}.${f.name}: ${String(v)} is not an integer`);
  switch (kind) {
    case "u8": case "i8": dv.setUint8(at, n & 0xff); break;
    case "u16": case "i16": dv.setUint16(at, n & 0xffff, le); break;
    case "u32": case "i32": dv.setUint32(at, n >>> 0, le); break;
  }
}

/** Read a NUL-terminated string from `bytes` at `offset` (bounded by the buffer). Returns undefined when no NUL is found. */
export function readCString(bytes: Uint8Array, offset: number, limit = bytes.byteLength): string | undefined {
  if (offset < 0 || offset >= limit) return undefined;
  const end = bytes.indexOf(0, offset);
  if (end < 0 || end >= limit) return undefined;
  return latin1OrUtf8(bytes.subarray(offset, end));
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
function latin1OrUtf8(b: Uint8Array): string {
  // Symbol and section names are ASCII in practice; fast path avoids TextDecoder for short names.
  if (b.byteLength < 64) {
    let s = "";
    for (let i = 0; i < b.byteLength; i++) {
      const c = b[i]!;
      if (c >= 0x80) return utf8.decode(b);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(b);
}

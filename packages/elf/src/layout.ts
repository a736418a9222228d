/**
 * Declarative binary layouts: a struct is declared once as a list of named fields,
 * and its reader and writer are derived from that declaration. Every package of @x
 * that reads or writes a fixed record (ELF headers, BTF records, bpf_attr) uses this,
 * so no offset is typed by hand twice.
 *
 * @packageDocumentation
 */
import { XError } from "./error.js";

/** Byte order of the machine running this code (bpf_attr, info structs and the kernel's BPF are native-endian). */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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

/**
 * Thrown when a record does not fit in the bytes it is read from or written to. The offset the
 * record was to start at (in those bytes) is `location.offset`.
 */
export class LayoutBoundsError extends XError<"LAYOUT_OUT_OF_BOUNDS"> {
  constructor(
    /** Layout (struct) name. */
    readonly layout: string,
    offset: number,
    /** Bytes the record needs. */
    readonly needed: number,
    /** Bytes available in the buffer. */
    readonly available: number,
  ) {
    super(
      "LAYOUT_OUT_OF_BOUNDS",
      `${layout} at offset ${offset} needs ${needed} bytes, but only ${Math.max(0, available - offset)} remain (buffer is ${available} bytes)`,
      { offset },
    );
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
  // Compiled on first read: a process declares many layouts at import and reads few of them (a CLI
  // cold start paid ~5 % of its time compiling readers it never used).
  let readRecord: Reader | undefined;

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
      readRecord ??= compileReader(fields);
      return readRecord(viewOf(bytes), bytes, bytes.byteOffset + offset, offset, le) as T;
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
// The last buffer is kept aside because consecutive reads almost always hit the same one.
const views = new WeakMap<ArrayBufferLike, DataView>();
let lastBuffer: ArrayBufferLike | undefined;
let lastView: DataView | undefined;
function viewOf(bytes: Uint8Array): DataView {
  const buffer = bytes.buffer;
  // A resizable or grown buffer needs a fresh view; a shorter cached view would be wrong.
  if (buffer === lastBuffer && lastView!.byteLength === buffer.byteLength) return lastView!;
  // Small buffers (a bpf_attr, one record) are short-lived: a WeakMap entry for each would cost more,
  // in lookups and in garbage collection, than a fresh view.
  if (buffer.byteLength < 4096) {
    lastBuffer = buffer;
    lastView = new DataView(buffer);
    return lastView;
  }
  let dv = views.get(buffer);
  if (!dv || dv.byteLength !== buffer.byteLength) {
    dv = new DataView(buffer);
    views.set(buffer, dv);
  }
  lastBuffer = buffer;
  lastView = dv;
  return dv;
}

type Reader = (dv: DataView, bytes: Uint8Array, base: number, rel: number, le: boolean) => Record<string, unknown>;

const GETTER: Record<ScalarKind, string> = {
  u8: "getUint8", i8: "getInt8", u16: "getUint16", i16: "getInt16", u32: "getUint32", i32: "getInt32", u64: "getBigUint64", i64: "getBigInt64",
};

/**
 * Generate a reader that builds the record as one object literal: every record of a layout then has
 * the same shape, and no per-field dispatch happens at run time. `base` is the absolute offset in the
 * underlying buffer (for the DataView); `rel` the offset within `bytes` (for byte-run subarrays).
 */
function compileReader(fields: readonly FieldInfo[]): Reader {
  const props = fields.map((f) => {
    const key = JSON.stringify(f.name);
    if (typeof f.kind !== "string") return `${key}: bytes.subarray(rel + ${f.offset}, rel + ${f.offset + f.kind.bytes})`;
    const byteOrder = f.size > 1 ? ", le" : "";
    return `${key}: dv.${GETTER[f.kind]}(base + ${f.offset}${byteOrder})`;
  });
  return new Function("dv", "bytes", "base", "rel", "le", `return { ${props.join(", ")} };`) as Reader;
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
  return asciiOrUtf8(bytes, offset, end);
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
function asciiOrUtf8(bytes: Uint8Array, start: number, end: number): string {
  // Symbol and section names are short ASCII in practice: building the string a character at a time
  // is ~2.5× faster than fromCharCode.apply or TextDecoder for them (and allocates no subarray).
  if (end - start < 64) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) return utf8.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(start, end));
}

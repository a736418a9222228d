/** Global variables of an object: typed access by name to the bytes of their section's image. */
import { type Btf, BtfError, type BtfValue, decodeValue, decodeValueAt, encodeValue, encodeValueAt, parseValue, formatType, valueField } from "@x/btf";
import type { ErrorLocation } from "@x/elf";
import { ObjectError } from "./errors.js";

/** Where a variable lives and what it is. */
export interface VariableInfo {
  readonly name: string;
  /** ELF section, e.g. `.rodata` or `.data.custom`. */
  readonly section: string;
  /** Byte offset in the section. */
  readonly offset: number;
  readonly size: number;
  /** BTF id of the variable's type. */
  readonly typeId: number;
  /** The C type, e.g. `const volatile struct limits`. */
  readonly cType: string;
  readonly linkage: "static" | "global" | "extern";
  /** The variable lives in a read-only section (`.rodata*`): settable before load only. */
  readonly readOnly: boolean;
  /** Name of the object the variable belongs to (for error locations), when known. */
  readonly object?: string;
}

/**
 * Storage a variable reads from and writes to: the pre-load image, the live mapping after load,
 * or map lookups/updates where the kernel cannot map arrays. Every access goes through it, so a
 * disposed mapping can refuse instead of handing out a dangling view.
 */
export interface VariableStorage {
  /** A copy of `length` bytes at `offset` of the section. */
  read(offset: number, length: number): Uint8Array;
  /** Store `bytes` at `offset` of the section. */
  write(offset: number, bytes: Uint8Array): void;
  /** Whether writes are allowed now; a string says why not. */
  writable(): true | string;
}

/** Storage over a plain byte array (the pre-load image of a section). */
export function imageStorage(image: Uint8Array): VariableStorage {
  return {
    read: (offset, length) => image.slice(offset, offset + length),
    write: (offset, bytes) => image.set(bytes, offset),
    writable: () => true,
  };
}

/** A typed variable over some storage. */
export class Variable implements VariableInfo {
  readonly name: string;
  readonly section: string;
  readonly offset: number;
  readonly size: number;
  readonly typeId: number;
  readonly linkage: "static" | "global" | "extern";
  readonly readOnly: boolean;
  /** Name of the object the variable belongs to, when known. */
  readonly object?: string;
  readonly #info: VariableInfo;

  /** @internal */
  constructor(info: VariableInfo, readonly btf: Btf, private readonly storage: VariableStorage) {
    this.name = info.name;
    this.section = info.section;
    this.offset = info.offset;
    this.size = info.size;
    this.typeId = info.typeId;
    this.#info = info;
    this.linkage = info.linkage;
    this.readOnly = info.readOnly;
    this.object = info.object;
  }

  /** The C type, e.g. `const volatile struct limits` (formatted on first use). */
  get cType(): string {
    return this.#info.cType;
  }

  /** The variable's raw bytes (a copy). */
  raw(): Uint8Array {
    return this.storage.read(this.offset, this.size);
  }

  /** Store raw bytes (exactly `size` of them), as {@link raw} returned them. */
  setRaw(bytes: Uint8Array): void {
    const allowed = this.storage.writable();
    if (allowed !== true) throw new ObjectError("OBJECT_READ_ONLY", `variable '${this.name}' in ${this.section}: ${allowed}`, this.#where());
    if (bytes.byteLength !== this.size) throw new ObjectError("OBJECT_BAD_VALUE", `variable '${this.name}' (${this.cType}) is ${this.size} bytes, got ${bytes.byteLength}`, this.#where());
    this.storage.write(this.offset, bytes);
  }

  /** Decode the current value with the variable's BTF type. */
  get(): BtfValue {
    return decodeValue(this.btf, this.typeId, this.storage.read(this.offset, this.size), this.btf.littleEndian);
  }

  /**
   * Encode and store `value` (typed: numbers/bigints for integers, strings for char arrays,
   * enum names, objects for structs). Struct fields not given keep their current value.
   */
  set(value: BtfValue): void {
    const allowed = this.storage.writable();
    if (allowed !== true) throw new ObjectError("OBJECT_READ_ONLY", `variable '${this.name}' in ${this.section}: ${allowed}`, this.#where());
    // Encode into a copy first so a bad value leaves the storage untouched.
    const scratch = this.storage.read(this.offset, this.size);
    try {
      encodeValue(this.btf, this.typeId, value, scratch, this.btf.littleEndian);
    } catch (e) {
      throw new ObjectError("OBJECT_BAD_VALUE", `variable '${this.name}' (${this.cType}): ${(e as Error).message}`, this.#where(), { cause: e });
    }
    this.storage.write(this.offset, scratch);
  }

  /**
   * Set one field of a struct/union/array variable by path (`["limits", "rate"]`, array elements by
   * index). Only that field's bytes change (siblings are not decoded, so a pointer or padding next
   * to it does not matter). With `text`, the value is command-line text parsed with the field's type.
   */
  setField(path: readonly string[], value: unknown, text = false): void {
    const allowed = this.storage.writable();
    if (allowed !== true) throw new ObjectError("OBJECT_READ_ONLY", `variable '${this.name}' in ${this.section}: ${allowed}`, this.#where());
    const scratch = this.storage.read(this.offset, this.size);
    try {
      const field = valueField(this.btf, this.typeId, path, this.name);
      const leaf = text ? parseValue(this.btf, field.typeId, value as string, { path: field.path }) : (value as BtfValue);
      encodeValueAt(this.btf, this.typeId, path, leaf, scratch, this.btf.littleEndian);
    } catch (e) {
      throw this.#fieldError(path, e);
    }
    this.storage.write(this.offset, scratch);
  }

  /** Read one field by path (see {@link Variable.setField}); siblings are not decoded. */
  getField(path: readonly string[]): BtfValue {
    try {
      return decodeValueAt(this.btf, this.typeId, path, this.storage.read(this.offset, this.size), this.btf.littleEndian);
    } catch (e) {
      throw this.#fieldError(path, e);
    }
  }

  #fieldError(path: readonly string[], e: unknown): Error {
    if (!(e instanceof BtfError)) return e as Error;
    const code = e.code === "BTF_NO_SUCH_FIELD" ? "OBJECT_NO_SUCH_VARIABLE" : "OBJECT_BAD_VALUE";
    return new ObjectError(code, `${[this.name, ...path].join(".")}: ${e.message}`, this.#where(), { cause: e });
  }

  /** Parse command-line text (`8080`, `0x1f`, `MODE_ON`, `"text"`, JSON for structs/arrays) and store it. */
  setText(text: string): void {
    let value: BtfValue;
    try {
      value = parseValue(this.btf, this.typeId, text);
    } catch (e) {
      throw new ObjectError("OBJECT_BAD_VALUE", `variable '${this.name}' (${this.cType}): ${(e as Error).message}`, this.#where(), { cause: e });
    }
    this.set(value);
  }

  /** Where this variable is, for errors about it. */
  #where(): ErrorLocation {
    return { object: this.object, section: this.section, variable: this.name };
  }
}

/** Describe a variable of object `object` for {@link Variable}. */
export function variableInfo(btf: Btf, v: { name: string; section: string; offset: number; size: number; typeId: number; linkage: "static" | "global" | "extern" }, object?: string): VariableInfo {
  let cType: string | undefined;
  return {
    name: v.name, section: v.section, offset: v.offset, size: v.size, typeId: v.typeId, linkage: v.linkage, object,
    // Formatting every variable's type at open time was a tenth of openObject: do it when asked.
    get cType() {
      return (cType ??= formatType(btf, v.typeId));
    },
    readOnly: v.section === ".rodata" || v.section.startsWith(".rodata.") || v.section === ".kconfig" || v.section === ".metadata",
  };
}

/** Global variables of an object: typed access by name to the bytes of their section's image. */
import { type Btf, type BtfValue, decodeValue, encodeValue, parseValue, formatType } from "@x/btf";
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
  }

  /** The C type, e.g. `const volatile struct limits` (formatted on first use). */
  get cType(): string {
    return this.#info.cType;
  }

  /** The variable's raw bytes (a copy). */
  raw(): Uint8Array {
    return this.storage.read(this.offset, this.size);
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
    if (allowed !== true) throw new ObjectError("OBJECT_READ_ONLY", `variable '${this.name}' in ${this.section}: ${allowed}`, { variable: this.name, section: this.section });
    // Encode into a copy first so a bad value leaves the storage untouched.
    const scratch = this.storage.read(this.offset, this.size);
    try {
      encodeValue(this.btf, this.typeId, value, scratch, this.btf.littleEndian);
    } catch (e) {
      throw new ObjectError("OBJECT_BAD_VALUE", `variable '${this.name}' (${this.cType}): ${(e as Error).message}`, { variable: this.name, section: this.section }, { cause: e });
    }
    this.storage.write(this.offset, scratch);
  }

  /**
   * Set one field of a struct/union/array variable by path (`["limits", "rate"]`, array elements by index).
   * With `text`, the value is command-line text parsed with the field's type.
   */
  setField(path: readonly string[], value: unknown, text = false): void {
    let typeId = this.typeId;
    for (const step of path) typeId = fieldType(this.btf, typeId, step, this.name);
    let leaf: BtfValue;
    try {
      leaf = text ? parseValue(this.btf, typeId, value as string) : (value as BtfValue);
    } catch (e) {
      throw new ObjectError("OBJECT_BAD_VALUE", `${[this.name, ...path].join(".")}: ${(e as Error).message}`, { variable: this.name, section: this.section }, { cause: e });
    }
    // Rewrite the field inside the current value, then store the whole value.
    const whole = this.get() as Record<string, unknown>;
    let node: Record<string, unknown> = whole;
    for (const step of path.slice(0, -1)) node = node[step] as Record<string, unknown>;
    node[path[path.length - 1]!] = leaf;
    this.set(whole as BtfValue);
  }

  /** Parse command-line text (`8080`, `0x1f`, `MODE_ON`, `"text"`, JSON for structs/arrays) and store it. */
  setText(text: string): void {
    let value: BtfValue;
    try {
      value = parseValue(this.btf, this.typeId, text);
    } catch (e) {
      throw new ObjectError("OBJECT_BAD_VALUE", `variable '${this.name}' (${this.cType}): ${(e as Error).message}`, { variable: this.name, section: this.section }, { cause: e });
    }
    this.set(value);
  }
}

/** Describe a variable for {@link Variable}. */
export function variableInfo(btf: Btf, v: { name: string; section: string; offset: number; size: number; typeId: number; linkage: "static" | "global" | "extern" }): VariableInfo {
  let cType: string | undefined;
  return {
    name: v.name, section: v.section, offset: v.offset, size: v.size, typeId: v.typeId, linkage: v.linkage,
    // Formatting every variable's type at open time was a tenth of openObject: do it when asked.
    get cType() {
      return (cType ??= formatType(btf, v.typeId));
    },
    readOnly: v.section === ".rodata" || v.section.startsWith(".rodata.") || v.section === ".kconfig",
  };
}

/** The type id of `step` (a member name or an array index) inside `typeId`. */
function fieldType(btf: Btf, typeId: number, step: string, variable: string): number {
  const t = btf.type(btf.resolve(typeId));
  if (t.kind === "STRUCT" || t.kind === "UNION") {
    const m = findMember(btf, t.members, step);
    if (m === undefined) throw new ObjectError("OBJECT_NO_SUCH_VARIABLE", `${variable}: ${formatType(btf, typeId)} has no field '${step}' (fields: ${t.members.map((x) => x.name).filter(Boolean).join(", ")})`, { variable });
    return m;
  }
  if (t.kind === "ARRAY" && /^\d+$/.test(step)) {
    if (Number(step) >= t.nelems) throw new ObjectError("OBJECT_BAD_VALUE", `${variable}: index ${step} is outside ${formatType(btf, typeId)}`, { variable });
    return t.type;
  }
  throw new ObjectError("OBJECT_NO_SUCH_VARIABLE", `${variable}: cannot select '${step}' in ${formatType(btf, typeId)}`, { variable });
}

/** Member type by name, looking through anonymous struct/union members as C does. */
function findMember(btf: Btf, members: readonly { name: string; type: number }[], name: string): number | undefined {
  for (const m of members) {
    if (m.name === name) return m.type;
    if (!m.name) {
      const inner = btf.type(btf.resolve(m.type));
      if (inner.kind === "STRUCT" || inner.kind === "UNION") {
        const found = findMember(btf, inner.members, name);
        if (found !== undefined) return found;
      }
    }
  }
  return undefined;
}

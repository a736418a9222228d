/**
 * A loaded object's arena as user space sees it: a range of this process's memory at the address
 * the arena's pointers hold. Besides the `__arena` globals (ordinary live variables), it holds what
 * the program allocated (`bpf_arena_alloc_pages`), linked by pointers: {@link Arena.view} gives a
 * typed value at any such address, bounds-checked against the arena.
 */
import type { Btf, BtfKind } from "@x/btf";
import { ObjectError } from "./errors.js";
import type { ArenaRegion } from "./load/kernel.js";
import { Variable, type VariableStorage, variableInfo } from "./variables.js";

/** The BTF type a C type name names: `struct node`, `union u`, `enum e`, a typedef or a base type (`__u64`, `int`). */
export function typeIdByCName(btf: Btf, cName: string): number | undefined {
  const m = /^\s*(?:(struct|union|enum)\s+)?([A-Za-z_][\w ]*?)\s*$/.exec(cName);
  if (!m) return undefined;
  const kinds: readonly BtfKind[] = m[1] === "struct" ? ["STRUCT"] : m[1] === "union" ? ["UNION"] : m[1] === "enum" ? ["ENUM", "ENUM64"] : ["TYPEDEF", "INT", "FLOAT"];
  return btf.idsByName(m[2]!).find((id) => kinds.includes(btf.type(id).kind));
}

/** The arena of a loaded object: its range in this process, its globals' place, typed views into it. */
export class Arena {
  /** Where the arena starts in this process: the arena's pointers hold addresses from here to `address + size`. */
  readonly address: bigint;
  /** Its size in bytes (a page per entry of the map). */
  readonly size: number;
  /** Offset of the `__arena` globals in the arena (0, or the last pages where the kernel allows it). */
  readonly dataOffset: number;
  readonly #storage: VariableStorage;

  /** @internal */
  constructor(
    readonly name: string,
    region: ArenaRegion,
    dataOffset: number,
    private readonly btf: Btf | undefined,
    private readonly object: string,
    isDisposed: () => boolean,
  ) {
    this.address = region.address;
    this.size = region.length;
    this.dataOffset = dataOffset;
    const check = () => {
      if (isDisposed()) throw new ObjectError("OBJECT_DISPOSED", `arena '${name}' belongs to a disposed object`, { object, map: name });
    };
    this.#storage = {
      read: (offset, length) => (check(), region.read(offset, length)),
      write: (offset, bytes) => (check(), region.write(offset, bytes)),
      writable: () => (check(), true),
    };
  }

  /** Offset in the arena of `address` (a pointer the program stored), checked to span `length` bytes inside it. */
  offsetOf(address: bigint, length = 1): number {
    const off = address - this.address;
    if (off < 0n || off + BigInt(length) > BigInt(this.size)) {
      throw new ObjectError("OBJECT_BAD_VALUE", `arena '${this.name}': ${length} bytes at 0x${address.toString(16)} are outside the arena (0x${this.address.toString(16)}, ${this.size} bytes)`, { object: this.object, map: this.name });
    }
    return Number(off);
  }

  /**
   * A copy of `length` bytes at `address`. Reading a page the program never allocated makes the
   * kernel allocate it, zeroed (as any user-space access of the arena does).
   */
  read(address: bigint, length: number): Uint8Array {
    return this.#storage.read(this.offsetOf(address, length), length);
  }

  /** Store `bytes` at `address`. */
  write(address: bigint, bytes: Uint8Array): void {
    this.#storage.write(this.offsetOf(address, bytes.byteLength), bytes);
  }

  /**
   * The value of C type `type` (`"struct node"`, or a BTF type id of the object) at `address`, live:
   * `get()`, `set()`, `getField()`… read and write the arena. Pointers decode as the addresses they
   * hold, so `arena.view(node.next, "struct node")` follows a list the program built.
   */
  view(address: bigint, type: string | number): Variable {
    const btf = this.btf;
    if (!btf) throw new ObjectError("OBJECT_BAD_VALUE", `arena '${this.name}': the object has no BTF to type a view with`, { object: this.object, map: this.name });
    const typeId = typeof type === "number" ? type : typeIdByCName(btf, type);
    if (typeId === undefined || typeId <= 0 || typeId >= btf.types.length) {
      throw new ObjectError("OBJECT_BAD_VALUE", `arena '${this.name}': the object's BTF has no type ${typeof type === "number" ? `[${type}]` : `'${type}'`}`, { object: this.object, map: this.name });
    }
    const size = btf.sizeof(typeId);
    const offset = this.offsetOf(address, size);
    const info = variableInfo(btf, { name: `(${typeof type === "number" ? `[${type}]` : type} *)0x${address.toString(16)}`, section: this.name, offset, size, typeId, linkage: "global" }, this.object);
    return new Variable(info, btf, this.#storage);
  }
}

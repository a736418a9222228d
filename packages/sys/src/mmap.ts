/**
 * Memory-mapped BPF maps (`BPF_F_MMAPABLE` arrays).
 *
 * The mapping is foreign memory seen through an ArrayBuffer. After munmap, any surviving view
 * would be a segfault, not an exception, so the raw view never leaves this module: every
 * accessor checks the disposed flag and bounds, writes to a read-only (PROT_READ) mapping are
 * refused before they reach memory, and the memory is unmapped only on `unmap()` or when the
 * handle (the only owner of the view) is garbage collected.
 *
 * @packageDocumentation
 */
import { Errno } from "./abi/errno.js";
import { MappedMemoryError, SyscallError } from "./errors.js";
import { rawFd, type FdLike } from "./fd.js";
import { foreignView, pageSize, pointerAddress, sysMmap, sysMmapAt, sysMunmap } from "./native.js";

const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_SHARED = 0x1;
const MAP_FIXED = 0x10;
/** Linux 4.17: MAP_FIXED that fails with EEXIST instead of replacing what is mapped there. */
const MAP_FIXED_NOREPLACE = 0x100000;

interface Mapping {
  ptr: unknown;
  length: number;
}

let liveMappings = 0;
const registry = new FinalizationRegistry<Mapping>((m) => {
  liveMappings--;
  sysMunmap(m.ptr, m.length);
});

/** Number of live mappings (not yet unmapped), for leak tests. */
export function mappingCount(): number {
  return liveMappings;
}

/** Round `n` up to a multiple of `to`. */
function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * Size of the mmap-able region of an array map: `roundup(roundup(valueSize, 8) * maxEntries, pageSize)`.
 */
export function mmapSize(valueSize: number, maxEntries: number): number {
  return roundUp(roundUp(valueSize, 8) * maxEntries, pageSize());
}

/** Options of {@link mmapMap}. */
export interface MmapOptions {
  /**
   * Ask for a writable shared mapping. If the kernel refuses it (EPERM/EACCES, e.g. a frozen
   * map), the mapping falls back to read-only; check {@link MappedMemory.readonly}.
   * Default false.
   */
  writable?: boolean;
}

type NumKind = "Int8" | "Uint8" | "Int16" | "Uint16" | "Int32" | "Uint32" | "Float32" | "Float64";
type BigKind = "BigInt64" | "BigUint64";
const SIZES: Record<NumKind | BigKind, number> = {
  Int8: 1, Uint8: 1, Int16: 2, Uint16: 2, Int32: 4, Uint32: 4, Float32: 4, Float64: 8, BigInt64: 8, BigUint64: 8,
};

/** A shared mapping of a BPF map's values. Reads and writes go straight to kernel memory. */
export class MappedMemory implements Disposable {
  #map: Mapping | undefined;
  #view: DataView | undefined;
  #bytes: Uint8Array | undefined;
  /** Length in bytes. */
  readonly length: number;
  /** Whether the mapping is PROT_READ only (writes are refused). */
  readonly readonly: boolean;
  /** The address the mapping starts at in this process (what an arena's pointers are relative to). */
  readonly address: bigint;

  /** @internal Use {@link mmapMap}. */
  constructor(ptr: unknown, length: number, readonly: boolean) {
    const ab = foreignView(ptr, length);
    this.#map = { ptr, length };
    this.#view = new DataView(ab);
    this.#bytes = new Uint8Array(ab);
    this.length = length;
    this.readonly = readonly;
    this.address = pointerAddress(ptr);
    liveMappings++;
    registry.register(this, this.#map, this);
  }

  /** Whether the mapping has been unmapped. */
  get disposed(): boolean {
    return this.#map === undefined;
  }

  #check(offset: number, size: number, write: boolean): void {
    if (!this.#map) throw new MappedMemoryError("MMAP_DISPOSED", "mapped memory used after unmap()");
    if (write && this.readonly) {
      throw new MappedMemoryError("MMAP_READONLY", `mapped memory is read-only (PROT_READ): refusing a ${size}-byte write at offset ${offset}`);
    }
    if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size < 0 || offset + size > this.length) {
      throw new MappedMemoryError("MMAP_OUT_OF_BOUNDS", `access of ${size} bytes at offset ${offset} is outside the ${this.length}-byte mapping`);
    }
  }

  /** Copy `length` bytes from `offset` (default: to the end) out of the mapping. */
  read(offset = 0, length = this.length - offset): Uint8Array {
    this.#check(offset, length, false);
    return this.#bytes!.slice(offset, offset + length);
  }

  /** Copy `data` into the mapping at `offset`. Refused on a read-only mapping. */
  write(offset: number, data: Uint8Array): void {
    this.#check(offset, data.byteLength, true);
    this.#bytes!.set(data, offset);
  }

  /** Fill `length` bytes at `offset` with `value`. Refused on a read-only mapping. */
  fill(value: number, offset = 0, length = this.length - offset): void {
    this.#check(offset, length, true);
    this.#bytes!.fill(value, offset, offset + length);
  }

  #get(kind: NumKind, offset: number, le: boolean): number {
    this.#check(offset, SIZES[kind], false);
    return this.#view![`get${kind}`](offset, le);
  }
  #set(kind: NumKind, offset: number, value: number, le: boolean): void {
    this.#check(offset, SIZES[kind], true);
    this.#view![`set${kind}`](offset, value, le);
  }
  #getBig(kind: BigKind, offset: number, le: boolean): bigint {
    this.#check(offset, 8, false);
    return this.#view![`get${kind}`](offset, le);
  }
  #setBig(kind: BigKind, offset: number, value: bigint, le: boolean): void {
    this.#check(offset, 8, true);
    this.#view![`set${kind}`](offset, value, le);
  }

  /** Read a u8. */
  getUint8(offset: number): number { return this.#get("Uint8", offset, true); }
  /** Read an i8. */
  getInt8(offset: number): number { return this.#get("Int8", offset, true); }
  /** Read a u16 (little-endian by default). */
  getUint16(offset: number, le = true): number { return this.#get("Uint16", offset, le); }
  /** Read an i16. */
  getInt16(offset: number, le = true): number { return this.#get("Int16", offset, le); }
  /** Read a u32. */
  getUint32(offset: number, le = true): number { return this.#get("Uint32", offset, le); }
  /** Read an i32. */
  getInt32(offset: number, le = true): number { return this.#get("Int32", offset, le); }
  /** Read an f32. */
  getFloat32(offset: number, le = true): number { return this.#get("Float32", offset, le); }
  /** Read an f64. */
  getFloat64(offset: number, le = true): number { return this.#get("Float64", offset, le); }
  /** Read a u64. */
  getBigUint64(offset: number, le = true): bigint { return this.#getBig("BigUint64", offset, le); }
  /** Read an i64. */
  getBigInt64(offset: number, le = true): bigint { return this.#getBig("BigInt64", offset, le); }
  /** Write a u8. */
  setUint8(offset: number, v: number): void { this.#set("Uint8", offset, v, true); }
  /** Write an i8. */
  setInt8(offset: number, v: number): void { this.#set("Int8", offset, v, true); }
  /** Write a u16. */
  setUint16(offset: number, v: number, le = true): void { this.#set("Uint16", offset, v, le); }
  /** Write an i16. */
  setInt16(offset: number, v: number, le = true): void { this.#set("Int16", offset, v, le); }
  /** Write a u32. */
  setUint32(offset: number, v: number, le = true): void { this.#set("Uint32", offset, v, le); }
  /** Write an i32. */
  setInt32(offset: number, v: number, le = true): void { this.#set("Int32", offset, v, le); }
  /** Write an f32. */
  setFloat32(offset: number, v: number, le = true): void { this.#set("Float32", offset, v, le); }
  /** Write an f64. */
  setFloat64(offset: number, v: number, le = true): void { this.#set("Float64", offset, v, le); }
  /** Write a u64. */
  setBigUint64(offset: number, v: bigint, le = true): void { this.#setBig("BigUint64", offset, v, le); }
  /** Write an i64. */
  setBigInt64(offset: number, v: bigint, le = true): void { this.#setBig("BigInt64", offset, v, le); }

  /** Unmap. Idempotent; every accessor throws `MMAP_DISPOSED` afterwards. */
  unmap(): void {
    const m = this.#map;
    if (!m) return;
    // Drop every JS reference to the foreign memory before it goes away.
    this.#map = undefined;
    this.#view = undefined;
    this.#bytes = undefined;
    registry.unregister(this);
    liveMappings--;
    const errno = sysMunmap(m.ptr, m.length);
    if (errno !== 0) throw new SyscallError("munmap", errno);
  }

  /** Same as {@link MappedMemory.unmap}. */
  [Symbol.dispose](): void {
    this.unmap();
  }
}

/**
 * mmap a `BPF_F_MMAPABLE` map (`MAP_SHARED`, offset 0). `size` is usually
 * {@link mmapSize}(valueSize, maxEntries). The mapping stays valid after the map fd is closed.
 */
export function mmapMap(map: FdLike, size: number, o: MmapOptions = {}): MappedMemory {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`mmap size must be a positive integer, got ${size}`);
  const fd = rawFd(map);
  if (o.writable) {
    const r = sysMmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    if (r.errno === 0) return new MappedMemory(r.ptr, size, false);
    // A frozen or BPF_F_RDONLY map refuses writable mappings: fall back to read-only (as cilium/ebpf does).
    if (r.errno !== Errno.EPERM && r.errno !== Errno.EACCES) throw new SyscallError("mmap", r.errno, `fd ${fd}, ${size} bytes, PROT_READ|PROT_WRITE`);
  }
  const r = sysMmap(size, PROT_READ, MAP_SHARED, fd);
  if (r.errno !== 0) throw new SyscallError("mmap", r.errno, `fd ${fd}, ${size} bytes, PROT_READ`);
  return new MappedMemory(r.ptr, size, true);
}

/** Options of {@link mmapAt}. */
export interface MmapAtOptions {
  /** Page-aligned address to map at; `0n` lets the kernel choose. */
  readonly address: bigint;
  /**
   * With an address: `false` (default) maps exactly there or fails with EEXIST when something is
   * already mapped in the range (MAP_FIXED_NOREPLACE: a JavaScript process has mappings it cannot
   * see, such as its heap); `true` is MAP_FIXED, which silently replaces them (libbpf's choice).
   */
  readonly replace?: boolean;
  /** PROT_READ|PROT_WRITE (default) or PROT_READ only. */
  readonly writable?: boolean;
}

/**
 * mmap `size` bytes of a map (`MAP_SHARED`, offset 0) at a chosen address: a BPF arena is mapped at
 * its `map_extra`, which is where the pointers its programs store point. Kernels before 4.17 take
 * MAP_FIXED_NOREPLACE as a hint: a mapping elsewhere is undone and reported as EEXIST.
 */
export function mmapAt(map: FdLike, size: number, o: MmapAtOptions): MappedMemory {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`mmap size must be a positive integer, got ${size}`);
  if (o.address % BigInt(pageSize()) !== 0n) throw new RangeError(`mmap address 0x${o.address.toString(16)} is not page-aligned`);
  const fd = rawFd(map);
  const writable = o.writable ?? true;
  const prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  const fixed = o.address === 0n ? 0 : o.replace ? MAP_FIXED : MAP_FIXED_NOREPLACE;
  const what = `fd ${fd}, ${size} bytes at 0x${o.address.toString(16)}${fixed === MAP_FIXED ? " (MAP_FIXED)" : fixed ? " (MAP_FIXED_NOREPLACE)" : ""}`;
  const r = sysMmapAt(o.address, size, prot, MAP_SHARED | fixed, fd);
  if (r.errno !== 0) throw new SyscallError("mmap", r.errno, what);
  if (o.address !== 0n && pointerAddress(r.ptr) !== o.address) {
    sysMunmap(r.ptr, size);
    throw new SyscallError("mmap", Errno.EEXIST, `${what}: the kernel placed it at 0x${pointerAddress(r.ptr).toString(16)} instead (the range is taken)`);
  }
  return new MappedMemory(r.ptr, size, !writable);
}

/**
 * Map commands: create, element access, freeze.
 *
 * @packageDocumentation
 */
import { MapCreateAttr, MapElemAttr, MapFreezeAttr, MapGetNextKeyAttr } from "./abi/attr.js";
import { BpfCmd } from "./abi/consts.js";
import { Errno } from "./abi/errno.js";
import { BpfSyscallError } from "./errors.js";
import { MapFd, rawFd, type FdLike } from "./fd.js";
import { addressOf } from "./native.js";
import { bpf, bpfAt, bpfRaw } from "./syscall.js";
import { LE, objName } from "./util.js";

/** Options of {@link mapCreate}. */
export interface MapCreateOptions {
  /** Map type (see `MapType`). */
  type: number;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes. */
  valueSize: number;
  /** Maximum number of entries. */
  maxEntries: number;
  /** `map_flags` (see `MapFlags`). */
  flags?: number;
  /** Map name, at most 15 bytes of `[A-Za-z0-9_.]` (longer names are cut). */
  name?: string;
  /** BTF object holding the key/value types. */
  btfFd?: FdLike;
  /** BTF type id of the key. */
  btfKeyTypeId?: number;
  /** BTF type id of the value. */
  btfValueTypeId?: number;
  /** vmlinux BTF type id of the value (struct_ops maps). */
  btfVmlinuxValueTypeId?: number;
  /** `map_extra` (bloom filter hashes, arena start address). */
  mapExtra?: bigint;
  /** Inner map template fd (map-in-map). */
  innerMapFd?: FdLike;
  /** NUMA node (with `BPF_F_NUMA_NODE`). */
  numaNode?: number;
  /** Device to offload to. */
  ifindex?: number;
}

/** `BPF_MAP_CREATE`: create a map and return its fd handle. */
export function mapCreate(o: MapCreateOptions): MapFd {
  const attr = MapCreateAttr.encode(
    {
      map_type: o.type,
      key_size: o.keySize,
      value_size: o.valueSize,
      max_entries: o.maxEntries,
      map_flags: o.flags ?? 0,
      inner_map_fd: o.innerMapFd === undefined ? 0 : rawFd(o.innerMapFd),
      numa_node: o.numaNode ?? 0,
      map_name: objName(o.name),
      map_ifindex: o.ifindex ?? 0,
      btf_fd: o.btfFd === undefined ? 0 : rawFd(o.btfFd),
      btf_key_type_id: o.btfKeyTypeId ?? 0,
      btf_value_type_id: o.btfValueTypeId ?? 0,
      btf_vmlinux_value_type_id: o.btfVmlinuxValueTypeId ?? 0,
      map_extra: o.mapExtra ?? 0n,
    },
    LE,
  );
  return new MapFd(bpf(BpfCmd.MAP_CREATE, attr));
}

// One attr for every element command, written in place: the call is synchronous and JavaScript single-
// threaded, so nothing else can use it meanwhile, and a lookup then allocates nothing but its result.
const elem = new Uint8Array(MapElemAttr.size);
const elemView = new DataView(elem.buffer);
const ELEM_FD = MapElemAttr.field("map_fd").offset;
const ELEM_KEY = MapElemAttr.field("key").offset;
const ELEM_VALUE = MapElemAttr.field("value").offset;
const ELEM_FLAGS = MapElemAttr.field("flags").offset;

// Keys and values up to SMALL bytes go through a scratch buffer of stable address: copying a few bytes
// costs less than finding (or, for a fresh on-heap array, creating) the caller's array's off-heap memory.
const SMALL = 256;
const scratch = new Uint8Array(2 * SMALL);
const scratchKey = scratch.subarray(0, SMALL);
const scratchValue = scratch.subarray(SMALL);
let elemAddress = 0n;
let scratchAddress = 0n;

/** An element command on `elem`: the result, or minus the errno. */
function elemCall(cmd: number): number {
  return bpfAt(cmd, elemAddress, elem.byteLength);
}

/** Fill `elem`; a small key or value is copied into the scratch buffer (a lookup copies the value back). */
function elemAttr(map: FdLike, key: Uint8Array | null, value: Uint8Array | null, flags: number | bigint): void {
  if (elemAddress === 0n) {
    elemAddress = addressOf(elem);
    scratchAddress = addressOf(scratch);
  }
  elemView.setUint32(ELEM_FD, rawFd(map), LE);
  if (key !== null && key.byteLength <= SMALL) {
    scratchKey.set(key);
    elemView.setBigUint64(ELEM_KEY, scratchAddress, LE);
  } else elemView.setBigUint64(ELEM_KEY, addressOf(key), LE);
  if (value !== null && value.byteLength <= SMALL) {
    // Copied in for lookups too: the kernel writes only the map's value size, the rest must stay as it was.
    scratchValue.set(value);
    elemView.setBigUint64(ELEM_VALUE, scratchAddress + BigInt(SMALL), LE);
  } else elemView.setBigUint64(ELEM_VALUE, addressOf(value), LE);
  if (typeof flags === "bigint") elemView.setBigUint64(ELEM_FLAGS, BigInt.asUintN(64, flags), LE);
  else {
    if (!Number.isSafeInteger(flags) || flags < 0) throw new RangeError(`map element flags must be a non-negative integer, not ${flags}`);
    elemView.setUint32(ELEM_FLAGS, flags >>> 0, LE);
    elemView.setUint32(ELEM_FLAGS + 4, Math.floor(flags / 2 ** 32), LE);
  }
}

function checkKey(key: Uint8Array | null): void {
  if (key !== null && !(key instanceof Uint8Array)) throw new TypeError("map key must be a Uint8Array");
}

/**
 * `BPF_MAP_LOOKUP_ELEM`: copy the value of `key` into `value` (which must be at least the
 * map's value size; per-CPU maps need `roundup(valueSize, 8) * nCpus`).
 * Returns false when the key does not exist (ENOENT); throws on other errors.
 */
export function mapLookup(map: FdLike, key: Uint8Array, value: Uint8Array, flags: number | bigint = 0): boolean {
  checkKey(key);
  elemAttr(map, key, value, flags);
  const r = elemCall(BpfCmd.MAP_LOOKUP_ELEM);
  if (r >= 0) {
    if (value.byteLength <= SMALL) value.set(scratchValue.subarray(0, value.byteLength));
    return true;
  }
  if (r === -Errno.ENOENT) return false;
  throw new BpfSyscallError(BpfCmd.MAP_LOOKUP_ELEM, -r);
}

/** `BPF_MAP_UPDATE_ELEM`: set `key` to `value`. `flags`: `BPF_ANY` (default), `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`. */
export function mapUpdate(map: FdLike, key: Uint8Array, value: Uint8Array, flags: number | bigint = 0): void {
  checkKey(key);
  elemAttr(map, key, value, flags);
  const r = elemCall(BpfCmd.MAP_UPDATE_ELEM);
  if (r < 0) throw new BpfSyscallError(BpfCmd.MAP_UPDATE_ELEM, -r);
}

/** `BPF_MAP_DELETE_ELEM`: delete `key`. Returns false when it did not exist (ENOENT). */
export function mapDelete(map: FdLike, key: Uint8Array, flags: number | bigint = 0): boolean {
  checkKey(key);
  elemAttr(map, key, null, flags);
  const r = elemCall(BpfCmd.MAP_DELETE_ELEM);
  if (r >= 0) return true;
  if (r === -Errno.ENOENT) return false;
  throw new BpfSyscallError(BpfCmd.MAP_DELETE_ELEM, -r);
}

/**
 * `BPF_MAP_GET_NEXT_KEY`: write the key after `key` (or the first key when `key` is null)
 * into `nextKey`. Returns false at the end of the map (ENOENT).
 */
export function mapGetNextKey(map: FdLike, key: Uint8Array | null, nextKey: Uint8Array): boolean {
  checkKey(key);
  const attr = MapGetNextKeyAttr.encode({ map_fd: rawFd(map), key: addressOf(key), next_key: addressOf(nextKey) }, LE);
  const r = bpfRaw(BpfCmd.MAP_GET_NEXT_KEY, attr);
  if (r.result >= 0) return true;
  if (r.errno === Errno.ENOENT) return false;
  throw new BpfSyscallError(BpfCmd.MAP_GET_NEXT_KEY, r.errno);
}

/** Iterate over all keys of a map (each yielded key is a fresh array of `keySize` bytes). */
export function* mapKeys(map: FdLike, keySize: number): Generator<Uint8Array> {
  let key: Uint8Array | null = null;
  for (;;) {
    const next: Uint8Array = new Uint8Array(keySize);
    if (!mapGetNextKey(map, key, next)) return;
    yield next;
    key = next;
  }
}

/** `BPF_MAP_FREEZE`: make the map read-only for user space (programs may still write unless `BPF_F_RDONLY_PROG`). */
export function mapFreeze(map: FdLike): void {
  bpf(BpfCmd.MAP_FREEZE, MapFreezeAttr.encode({ map_fd: rawFd(map) }, LE));
}

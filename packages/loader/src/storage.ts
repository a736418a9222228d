/**
 * Where a data section's variables read and write after load: the map's value mapped into this
 * process, or BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM of its one element where it cannot be mapped.
 */
import { mapLookup, mapUpdate, type FdLike } from "@x/sys";
import type { MappedRegion } from "./load/kernel.js";
import type { VariableStorage } from "./variables.js";

/** What every access checks first (a disposed owner throws), and why writes are refused, if they are. */
export interface StorageGuard {
  readonly check: () => void;
  /** Why the section cannot be written (it is frozen…); undefined: it can. */
  readonly readOnly?: string;
}

/** Storage over mapped memory, the section starting at `base` in it. */
export function mappedStorage(mem: MappedRegion, base: number, guard: StorageGuard): VariableStorage {
  const { check, readOnly } = guard;
  return {
    read: (offset, length) => (check(), mem.read(base + offset, length)),
    write: (offset, bytes) => (check(), mem.write(base + offset, bytes)),
    writable: () => (check(), readOnly ?? true),
  };
}

/**
 * Storage through map syscalls on key 0: a read looks the whole value up; a write looks it up,
 * changes the bytes written and updates it (so a concurrent program write to another variable of the
 * section between the two can be lost: mapped memory has no such window).
 */
export function syscallStorage(fd: FdLike, valueSize: number, guard: StorageGuard): VariableStorage {
  const { check, readOnly } = guard;
  const key = new Uint8Array(4);
  const whole = () => {
    check();
    const value = new Uint8Array(valueSize);
    mapLookup(fd, key, value);
    return value;
  };
  return {
    read: (offset, length) => whole().slice(offset, offset + length),
    write: (offset, bytes) => {
      const value = whole();
      value.set(bytes, offset);
      mapUpdate(fd, key, value);
    },
    writable: () => (check(), readOnly ?? true),
  };
}

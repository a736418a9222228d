/**
 * Create maps, in libbpf's order (`.maps`, then data sections): with BTF key/value types, the
 * flags this kernel has, and libbpf's name. Maps declared with `pinning LIBBPF_PIN_BY_NAME` reuse
 * a compatible pinned map, or are pinned once created.
 */
import { mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { MapFlags, MapType } from "@x/sys/abi";
import { isArenaMap } from "../../arena.js";
import { isMapInMap, MAP_TYPES_WITHOUT_BTF } from "../../btf-maps.js";
import { LoadError } from "../../errors.js";
import { kernelObjectName } from "../../names.js";
import { isDeclaredMap, type MapSpec } from "../../spec.js";
import type { Phase } from "../phase.js";
import type { KernelFd } from "../kernel.js";
import type { LoadState, MapState } from "../state.js";
import { mapError } from "./map-error.js";

export const createMaps: Phase = {
  name: "create maps",
  run(s) {
    // `?.struct_ops` maps (libbpf's autocreate false) are not created unless asked for.
    for (const m of s.spec.maps) if (m.autocreate !== false) s.maps.set(m.name, createMap(s, m));
  },
};

function createMap(s: LoadState, m: MapSpec): MapState {
  const pinPath = m.pinAt ? `${s.settings.pinRoot}/${m.pinAt}` : undefined;
  const f = s.features;
  let flags = m.flags;
  // An arena's definition carries BPF_F_MMAPABLE itself (the kernel requires it).
  if (m.mmapable && !isArenaMap(m) && f.has("array_mmap")) flags |= MapFlags.BPF_F_MMAPABLE;
  if (!isDeclaredMap(m) && flags & MapFlags.BPF_F_RDONLY_PROG && !f.has("rdonly_prog")) flags &= ~MapFlags.BPF_F_RDONLY_PROG;
  const given = s.settings.reuseMaps[m.name] ?? (m.section ? s.settings.reuseMaps[m.section] : undefined);
  if (given !== undefined) return { spec: m, fd: reuseGiven(s, m, given, flags), reused: true, image: undefined, pinPath };
  if (pinPath) {
    const reused = reusePinned(s, m, pinPath);
    if (reused) return { spec: m, fd: reused, reused: true, image: undefined, pinPath };
  }
  // A struct_ops map's value is the kernel's struct bpf_struct_ops_NAME (the struct_ops phase found it).
  const ops = s.structOps.get(m.name);
  let fd: KernelFd;
  const base = {
    type: m.type,
    keySize: m.keySize,
    valueSize: ops?.valueSize ?? m.valueSize,
    ...(ops ? { btfVmlinuxValueTypeId: ops.btfVmlinuxValueTypeId } : {}),
    maxEntries: effectiveMaxEntries(s, m),
    flags,
    numaNode: m.numaNode,
    mapExtra: m.mapExtra,
    name: f.has("prog_name") ? kernelObjectName(m.name) : undefined,
  };
  // A map of maps is created from a template of its inner maps, closed once the outer map exists.
  using inner = isMapInMap(m.type) ? createInnerTemplate(s, m) : undefined;
  const shaped = inner ? { ...base, innerMapFd: inner.fd } : base;
  const withBtf = s.btf && !MAP_TYPES_WITHOUT_BTF.has(m.type) && (m.btfKeyTypeId || m.btfValueTypeId)
    ? { btfFd: s.btf.fd, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId }
    : undefined;
  if (ops) {
    // The kernel wants the object's BTF with a struct_ops map, though its value type is the kernel's.
    if (!s.btf) throw new LoadError("LOAD_MAP", `struct_ops map '${m.name}' needs the object's BTF in the kernel, and it was not loaded`, { object: s.spec.name, map: m.name });
    try {
      fd = s.own(s.kernel.createMap({ ...shaped, btfFd: s.btf.fd }));
    } catch (e) {
      throw mapError(s, m, e);
    }
    return { spec: m, fd, reused: false, image: undefined, pinPath };
  }
  try {
    fd = s.own(s.kernel.createMap(withBtf ? { ...shaped, ...withBtf } : shaped));
  } catch (e) {
    if (!withBtf) throw mapError(s, m, e);
    // As libbpf: a kernel that dislikes the map's BTF may still create it without.
    try {
      fd = s.own(s.kernel.createMap(shaped));
    } catch {
      throw mapError(s, m, e);
    }
  }
  if (pinPath) {
    try {
      mkdirSync(dirname(pinPath), { recursive: true });
      s.kernel.pin(fd, pinPath);
    } catch (e) {
      throw mapError(s, m, e);
    }
    // A failed load removes the pins it made, as libbpf does.
    s.undo.push(() => rmSync(pinPath, { force: true }));
  }
  return { spec: m, fd, reused: false, image: m.origin === "kconfig" ? s.kconfigImage : m.image, pinPath };
}

/**
 * The inner map template of map of maps `m` (libbpf creates `m.inner` from the `__array(values, …)`
 * definition and closes it after the outer map): the shape every map put in a slot must have.
 */
function createInnerTemplate(s: LoadState, m: MapSpec): KernelFd {
  const d = m.inner;
  if (!d) {
    throw new LoadError("LOAD_MAP", `map '${m.name}' is a map of maps without an inner map definition: declare its inner maps with __array(values, struct …)`, { object: s.spec.name, map: m.name });
  }
  const btf = s.btf && !MAP_TYPES_WITHOUT_BTF.has(d.type) && (d.btfKeyTypeId || d.btfValueTypeId)
    ? { btfFd: s.btf.fd, btfKeyTypeId: d.btfKeyTypeId, btfValueTypeId: d.btfValueTypeId }
    : {};
  try {
    return s.kernel.createMap({
      type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: effectiveMaxEntries(s, d), flags: d.flags, numaNode: d.numaNode,
      mapExtra: d.mapExtra, name: s.features.has("prog_name") ? kernelObjectName(d.name) : undefined, ...btf,
    });
  } catch (e) {
    throw mapError(s, { ...m, name: d.name }, e);
  }
}

/** Reuse a map pinned by name when it is compatible (libbpf `map_is_reuse_compat`), or say why not. */
function reusePinned(s: LoadState, m: MapSpec, path: string): KernelFd | undefined {
  let pinned: ReturnType<LoadState["kernel"]["openPinnedMap"]>;
  try {
    pinned = s.kernel.openPinnedMap(path);
  } catch (e) {
    throw mapError(s, m, e);
  }
  if (pinned === undefined) return undefined;
  if (pinned === "not a map") throw new LoadError("LOAD_MAP", `map '${m.name}': ${path} is pinned but is not a map`, { object: s.spec.name, map: m.name });
  s.own(pinned.fd);
  // Pinned maps are only ever .maps definitions, created with exactly these flags.
  checkCompatible(s, m, pinned.info, m.flags, `the map pinned at ${path}`);
  return pinned.fd;
}

/**
 * Reuse the map the caller gave for `m` (libbpf `bpf_map__reuse_fd`): a map of another load, or the
 * path it is pinned at. The load takes its own fd of it. A frozen `.rodata` map cannot take new values,
 * so it is refused rather than silently kept.
 */
function reuseGiven(s: LoadState, m: MapSpec, given: KernelFd | string, flags: number): KernelFd {
  const where = { object: s.spec.name, map: m.name };
  if (m.freeze) throw new LoadError("LOAD_MAP", `map '${m.name}' (${m.section}) is frozen once loaded: it cannot be reused, its values come from this object`, where);
  let reused: ReturnType<LoadState["kernel"]["reuseMap"]>;
  if (typeof given === "string") {
    let pinned: ReturnType<LoadState["kernel"]["openPinnedMap"]>;
    try {
      pinned = s.kernel.openPinnedMap(given);
    } catch (e) {
      throw mapError(s, m, e);
    }
    if (pinned === undefined) throw new LoadError("LOAD_MAP", `map '${m.name}': nothing is pinned at ${given} to reuse`, where);
    if (pinned === "not a map") throw new LoadError("LOAD_MAP", `map '${m.name}': ${given} is pinned but is not a map`, where);
    reused = pinned;
  } else {
    try {
      reused = s.kernel.reuseMap(given);
    } catch (e) {
      throw mapError(s, m, e);
    }
  }
  s.own(reused.fd);
  checkCompatible(s, m, reused.info, flags, typeof given === "string" ? `the map pinned at ${given}` : `the map given to reuse (id ${reused.info.id})`);
  return reused.fd;
}

/** libbpf `map_is_reuse_compat`: type, sizes, entries, flags and map_extra must all match. */
function checkCompatible(s: LoadState, m: MapSpec, info: { type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; mapExtra: bigint }, flags: number, what: string): void {
  const want = { type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: effectiveMaxEntries(s, m), flags, mapExtra: m.mapExtra };
  const have = { type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags, mapExtra: info.mapExtra };
  const show = (k: keyof typeof want, v: number | bigint) => (k === "flags" ? `0x${v.toString(16)}` : String(v));
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    if (want[k] !== have[k]) {
      throw new LoadError("LOAD_MAP", `map '${m.name}': ${what} has ${k} ${show(k, have[k])}, the object wants ${show(k, want[k])}`, { object: s.spec.name, map: m.name });
    }
  }
}

/**
 * The max_entries to create a map with, as libbpf does: a perf event array of 0 entries gets one per
 * possible CPU; a ring buffer's size is rounded up to a power-of-2 number of pages (`adjust_ringbuf_sz`),
 * which the kernel requires.
 */
function effectiveMaxEntries(s: LoadState, m: { readonly type: number; readonly maxEntries: number }): number {
  if (m.type === MapType.PERF_EVENT_ARRAY && m.maxEntries === 0) return s.kernel.possibleCpus();
  if (m.type === MapType.RINGBUF || m.type === MapType.USER_RINGBUF) return ringBufferSize(m.maxEntries, s.kernel.pageSize());
  return m.maxEntries;
}

/** libbpf `adjust_ringbuf_sz`: 0 stays 0 (the kernel's error), and a size no u32 can round up to stays as it is. */
export function ringBufferSize(size: number, page: number): number {
  if (size === 0) return 0;
  const pages = size / page;
  if (Number.isInteger(pages) && (pages & (pages - 1)) === 0) return size;
  for (let n = page; n <= 0xffffffff; n *= 2) if (n > size) return n;
  return size;
}

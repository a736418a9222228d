/**
 * The kernel seam: every load phase reaches the kernel through one {@link Kernel}. The default,
 * {@link systemKernel}, calls @x/sys; a recording implementation can turn a load into a loader
 * program, and tests pass a fake one to check the order and arguments of a whole load.
 */
import {
  btfLoad, type FeatureName, hasFeature, kallsymsAddress, kernelConfig, libbpfKernelVersionCode, openBtfById, kernelVersion, type MapCreateOptions, mapCreate, mapFreeze, mapInfo, type MapInfo,
  MapFd, mapUpdate, mmapAt, mmapMap, mmapSize, objGet, pageSize, objPin, type ProgLoadOptions, probeAttachType, probeProgType, progBindMap, progLoad,
  type KernelVersion, type TypeProbeResult, btfGetFdById, btfInfo, mapGetFdById, ProgFd, progGetFdById, progInfo,
} from "@x/sys";
import { type Btf, type BtfKind, parseBtf } from "@x/btf";
import { possibleCpus } from "../cpus.js";
import { ObjectError } from "../errors.js";
import { kernelBtfTypes, kernelTypeId } from "../kernel-btf.js";

/** A kernel object the load made or opened: its descriptor, closed on dispose. */
export interface KernelFd extends Disposable {
  readonly fd: number;
}

/** A map's values mapped into this process. */
export interface MappedRegion extends Disposable {
  /** A copy of `length` bytes at `offset`. */
  read(offset: number, length: number): Uint8Array;
  /** Store `bytes` at `offset`. */
  write(offset: number, bytes: Uint8Array): void;
}

/** An arena's user-space range, mapped at the address its pointers are relative to. */
export interface ArenaRegion extends MappedRegion {
  /** Where the range starts in this process. */
  readonly address: bigint;
  /** Its length in bytes (one page per arena entry). */
  readonly length: number;
}

/** What a pinned path holds, when it holds a map. */
export interface PinnedMap {
  readonly fd: KernelFd;
  readonly info: MapInfo;
}

/** A kernel BTF object (vmlinux or a module's) as extern resolution needs it. */
export interface KernelBtfTypes {
  /** `vmlinux`, or the module's name. */
  readonly name: string;
  /** The BTF object's id (to open its fd; 0 for vmlinux, which is referred to as fd 0). */
  readonly id: number;
  /** Its types (a module's BTF is split BTF on top of vmlinux's). */
  readonly btf: Btf;
  /** The id of the type `name` of `kind` among this object's own types, or undefined. */
  find(name: string, kind: BtfKind): number | undefined;
}

/**
 * Where externs are resolved from: the running kernel's configuration, symbols and BTF. Each is
 * read on first use (a load with no externs reads none) and kept for the process.
 */
export interface KernelSymbols {
  /** The kernel configuration (`/boot/config-$(uname -r)`, else `/proc/config.gz`): where it was read, and its text; throws when there is none. */
  config(): { readonly path: string; readonly text: string };
  /** A symbol's address from `/proc/kallsyms`, or undefined. */
  kallsyms(name: string): bigint | undefined;
  /** `LINUX_KERNEL_VERSION` as libbpf computes it (Ubuntu and Debian quirks included). */
  linuxKernelVersion(): number;
  /** vmlinux's BTF, then every loaded module's, in the kernel's id order (modules read only when asked for). */
  btfObjects(): Iterable<KernelBtfTypes>;
  /** Open a module's BTF object by id, for `fd_array` and `ld_imm64`; the load owns the fd. */
  openBtf(id: number): KernelFd;
}

/** Everything a load asks of the kernel. */
export interface Kernel {
  /** Kernel configuration, symbols and BTF, for externs. */
  readonly symbols: KernelSymbols;
  /** Whether the kernel has `feature`; throws when the probe cannot tell (the reason in the error). */
  hasFeature(feature: FeatureName): boolean;
  /** `BPF_BTF_LOAD`. */
  loadBtf(bytes: Uint8Array): KernelFd;
  /** `BPF_MAP_CREATE`. */
  createMap(options: MapCreateOptions): KernelFd;
  /** `BPF_MAP_UPDATE_ELEM` with `BPF_ANY`. */
  updateElement(map: KernelFd, key: Uint8Array, value: Uint8Array): void;
  /** `BPF_MAP_FREEZE`. */
  freezeMap(map: KernelFd): void;
  /** `BPF_PROG_LOAD` (with a log level above 0, the verifier's log comes back with the fd). */
  loadProgram(options: ProgLoadOptions): KernelFd & { readonly log?: string };
  /** `BPF_PROG_BIND_MAP`. */
  bindMap(program: KernelFd, map: KernelFd): void;
  /** `BPF_OBJ_PIN`. */
  pin(object: KernelFd, path: string): void;
  /**
   * `BPF_OBJ_GET` of a path that should hold a map: undefined when nothing is pinned there,
   * `"not a map"` when something else is.
   */
  openPinnedMap(path: string): PinnedMap | "not a map" | undefined;
  /** A map another load holds: a new fd of it (opened by its id), for this load to own, and its info. */
  reuseMap(map: KernelFd): PinnedMap;
  /**
   * `mmap` of all values of a `BPF_F_MMAPABLE` map; read-only when `writable` is false (or the
   * kernel refuses a writable mapping, as for a frozen map).
   */
  mapMemory(map: KernelFd, shape: { valueSize: number; maxEntries: number; writable: boolean }): MappedRegion;
  /**
   * `mmap` of an arena's whole range (`MAP_SHARED`, read-write), at `address` when non-zero (its
   * `map_extra`: exactly there, never over another mapping), else where the kernel chooses.
   */
  mapArena(map: KernelFd, shape: { size: number; address: bigint }): ArenaRegion;
  /** The system page size (arena sizes and offsets are in pages). */
  pageSize(): number;
  /** The running kernel's version (kprobes' `kern_version`, messages). */
  version(): KernelVersion;
  /** Possible CPUs (perf event arrays of 0 entries get one slot each). */
  possibleCpus(): number;
  /** The id of a type in the running kernel's BTF, or undefined. */
  vmlinuxTypeId(name: string, kind: "FUNC" | "TYPEDEF" | "STRUCT"): number | undefined;
  /** A program in the kernel, by id or pinned path (the target of freplace and of fentry on a BPF program). */
  openProgram(target: number | string): KernelFd;
  /** The BTF the kernel holds for a program (its functions' FUNCs), or undefined when it has none. */
  programBtf(program: KernelFd): Btf | undefined;
  /** After a failed program load: whether the kernel has the program type (never on the fast path). */
  probeProgType(type: number): TypeProbeResult;
  /** After a failed program load: whether the kernel has the expected attach type. */
  probeAttachType(progType: number, attachType: number): TypeProbeResult;
}

/** The kernel this process runs on, through @x/sys. */
export const systemKernel: Kernel = {
  symbols: {
    config: kernelConfig,
    kallsyms: kallsymsAddress,
    linuxKernelVersion: libbpfKernelVersionCode,
    btfObjects: kernelBtfTypes,
    openBtf: openBtfById,
  },
  hasFeature,
  loadBtf: (bytes) => btfLoad(bytes),
  createMap: (options) => mapCreate(options),
  updateElement: (map, key, value) => mapUpdate(map, key, value),
  freezeMap: (map) => mapFreeze(map),
  loadProgram: (options) => progLoad(options),
  bindMap: (program, map) => progBindMap(program, map),
  pin: (object, path) => objPin(object, path),
  reuseMap(map) {
    const fd = mapGetFdById(mapInfo(map).id);
    try {
      return { fd, info: mapInfo(fd) };
    } catch (e) {
      fd.close();
      throw e;
    }
  },
  openPinnedMap(path) {
    let fd: ReturnType<typeof objGet>;
    try {
      fd = objGet(path);
    } catch (e) {
      if ((e as { errnoName?: string }).errnoName === "ENOENT") return undefined;
      throw e;
    }
    if (!(fd instanceof MapFd)) {
      fd.close();
      return "not a map";
    }
    try {
      return { fd, info: mapInfo(fd) };
    } catch (e) {
      fd.close();
      throw e;
    }
  },
  mapMemory: (map, { valueSize, maxEntries, writable }) => mmapMap(map, mmapSize(valueSize, maxEntries), { writable }),
  mapArena(map, { size, address }) {
    const mem = mmapAt(map, size, { address });
    return { address: mem.address, length: mem.length, read: (o, n) => mem.read(o, n), write: (o, b) => mem.write(o, b), [Symbol.dispose]: () => mem.unmap() };
  },
  pageSize,
  version: kernelVersion,
  possibleCpus,
  vmlinuxTypeId: kernelTypeId,
  openProgram(target) {
    if (typeof target === "number") return progGetFdById(target);
    const fd = objGet(target);
    if (fd instanceof ProgFd) return fd;
    fd.close();
    throw new ObjectError("OBJECT_BAD_ATTACH_TARGET", `${target} is pinned, but holds a ${fd.kind}, not a program`, { program: target });
  },
  programBtf(program) {
    const id = progInfo(program).btfId;
    if (!id) return undefined;
    using fd = btfGetFdById(id);
    return parseBtf(btfInfo(fd, { withData: true }).data!);
  },
  probeProgType,
  probeAttachType,
};

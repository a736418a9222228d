/**
 * Programs already in the kernel, whoever loaded them (@x, libbpf, bpftool, iproute2…): list them,
 * and open one to read its metadata (`bpf_metadata_*`, as bpftool shows it) and every global of its
 * data sections, decoded by the BTF the kernel holds for its maps, live: reads and writes reach the
 * program's maps (mapped memory where the map allows it, map syscalls otherwise).
 */
import { readFileSync } from "node:fs";
import { type Btf, parseBtf } from "@x/btf";
import {
  btfGetFdById, btfInfo, BpfSyscallError, type MapFd, mapFdInfo, mapGetFdById, mapInfo, type MapInfo, mmapMap, mmapSize, objGet,
  ProgFd, progGetFdById, progGetNextId, progInfo, type ProgInfo,
} from "@x/sys";
import { MapFlags, MapType } from "@x/sys/abi";
import { mapTypeName } from "./describe.js";
import { ObjectError } from "./errors.js";
import { Resources } from "./resources.js";
import { progTypeName } from "./section-defs.js";
import { mappedStorage, syscallStorage } from "./storage.js";
import { Variable, type VariableStorage, variableInfo } from "./variables.js";
import type { KernelFd } from "./load/kernel.js";

/** The prefix of metadata variables (bpftool's convention), stripped in {@link LiveProgram.metadata}. */
export const METADATA_PREFIX = "bpf_metadata_";

/** A program in the kernel, as `xbpf prog list` shows it. */
export interface ProgramSummary {
  readonly id: number;
  /** `enum bpf_prog_type` number and name (`SCHED_CLS`). */
  readonly type: number;
  readonly typeName: string;
  /** The name it was loaded with (at most 15 characters). */
  readonly name: string;
  /** Hash of its instructions before verification, hex (bpftool's `tag`). */
  readonly tag: string;
  /** When it was loaded (wall clock, to the kernel's boot-time clock as /proc/uptime gives it). */
  readonly loadedAt: Date;
  /** Nanoseconds since boot at load (`bpf_prog_info.load_time`). */
  readonly loadTimeNs: bigint;
  readonly uid: number;
  /** Ids of the maps it uses (and those bound to it). */
  readonly mapIds: readonly number[];
  /** Its BTF object's id (0: none). */
  readonly btfId: number;
  readonly gplCompatible: boolean;
  readonly xlatedBytes: number;
  readonly jitedBytes: number;
  readonly verifiedInsns: number;
}

/** A map of a live program. */
export interface LiveMap {
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly btfId: number;
  /** Frozen (`BPF_MAP_FREEZE`): user space cannot write it. */
  readonly frozen: boolean;
  /** For a data section's map: the section (its BTF value type, a DATASEC, is named after it). */
  readonly section?: string;
  /** Its fd, held by the {@link LiveProgram} (to reuse the map in another load while it is open). */
  readonly fd: KernelFd;
}

/** Wall-clock time of a boot-time timestamp: now, less how long ago it was by the boot-time clock. */
function bootTimeToDate(bootNs: bigint): Date {
  const uptime = Number.parseFloat(readFileSync("/proc/uptime", "utf8"));
  return new Date(Date.now() - (uptime * 1000 - Number(bootNs / 1_000_000n)));
}

function summarize(info: ProgInfo): ProgramSummary {
  return {
    id: info.id, type: info.type, typeName: progTypeName(info.type), name: info.name, tag: info.tag,
    loadedAt: bootTimeToDate(info.loadTime), loadTimeNs: info.loadTime, uid: info.createdByUid, mapIds: info.mapIds,
    btfId: info.btfId, gplCompatible: info.gplCompatible, xlatedBytes: info.xlatedProgLen, jitedBytes: info.jitedProgLen,
    verifiedInsns: info.verifiedInsns,
  };
}

/**
 * Every program in the kernel, by id. One that goes away while the list is made is left out;
 * one the process may not open (EPERM) is an error, as bpftool has it.
 */
export function listPrograms(): ProgramSummary[] {
  const out: ProgramSummary[] = [];
  for (let id = progGetNextId(0); id !== undefined; id = progGetNextId(id)) {
    let fd: ProgFd;
    try {
      fd = progGetFdById(id);
    } catch (e) {
      if (e instanceof BpfSyscallError && e.errnoName === "ENOENT") continue;
      throw e;
    }
    try {
      out.push(summarize(progInfo(fd)));
    } finally {
      fd.close();
    }
  }
  return out;
}

/** Whether a map looks like a data section's (libbpf's internal maps): an array of one value typed by a DATASEC. */
function isDataSectionMap(info: MapInfo): boolean {
  return info.type === MapType.ARRAY && info.keySize === 4 && info.maxEntries === 1 && info.btfId !== 0 && info.btfValueTypeId !== 0;
}

/**
 * A program in the kernel, opened by id or pinned path: its summary, its maps, its metadata and its
 * globals. Holds fds (and mappings) until disposed.
 */
export class LiveProgram implements Disposable {
  readonly summary: ProgramSummary;
  readonly maps: readonly LiveMap[];
  /** Every global of its data sections, by name (`SECTION:NAME` where two sections have the same name). */
  readonly variables: ReadonlyMap<string, Variable>;
  /** `bpf_metadata_*` variables of its read-only sections (`.rodata*`, `.metadata`), by name without the prefix. */
  readonly metadata: ReadonlyMap<string, Variable>;
  readonly #resources = new Resources();
  #disposed = false;

  /** @internal Use {@link openProgram}. */
  constructor(prog: ProgFd) {
    this.#resources.add(prog);
    try {
      this.summary = summarize(progInfo(prog));
      const btfs = new Map<number, Btf | undefined>();
      const maps: LiveMap[] = [];
      const vars = new Map<string, Variable>();
      const metadata = new Map<string, Variable>();
      for (const id of this.summary.mapIds) {
        let fd: MapFd;
        try {
          fd = this.#resources.add(mapGetFdById(id));
        } catch (e) {
          if (e instanceof BpfSyscallError && e.errnoName === "ENOENT") continue; // freed meanwhile
          throw e;
        }
        const info = mapInfo(fd);
        const frozen = mapFdInfo(fd).frozen;
        const btf = isDataSectionMap(info) ? this.#btf(btfs, info.btfId) : undefined;
        const datasec = btf?.type(info.btfValueTypeId);
        const section = datasec?.kind === "DATASEC" ? datasec.name : undefined;
        maps.push({ id, name: info.name, type: info.type, typeName: mapTypeName(info.type), keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags, btfId: info.btfId, frozen, section, fd });
        if (!btf || datasec?.kind !== "DATASEC") continue;
        const storage = this.#storage(fd, info, frozen, section!);
        const readOnlySection = section === ".metadata" || section!.startsWith(".rodata");
        for (const vsi of datasec.vars) {
          const v = btf.type(vsi.type);
          if (v.kind !== "VAR") continue;
          const variable = new Variable(variableInfo(btf, { name: v.name, section: section!, offset: vsi.offset, size: vsi.size, typeId: v.type, linkage: v.linkage }, this.summary.name), btf, storage);
          vars.set(vars.has(v.name) ? `${section}:${v.name}` : v.name, variable);
          if (readOnlySection && v.name.startsWith(METADATA_PREFIX)) metadata.set(v.name.slice(METADATA_PREFIX.length), variable);
        }
      }
      this.maps = maps;
      this.variables = vars;
      this.metadata = metadata;
    } catch (e) {
      try {
        this.#resources.dispose();
      } catch {
        // The error that stopped the open is the one to report.
      }
      throw e;
    }
  }

  /** The map BTF `id`, fetched and parsed once per program (its data maps share the object's BTF). */
  #btf(cache: Map<number, Btf | undefined>, id: number): Btf | undefined {
    if (cache.has(id)) return cache.get(id);
    let data: Uint8Array | undefined;
    try {
      using fd = btfGetFdById(id);
      data = btfInfo(fd, { withData: true }).data;
    } catch (e) {
      if (!(e instanceof BpfSyscallError && e.errnoName === "ENOENT")) throw e; // freed meanwhile: no types
    }
    let btf: Btf | undefined;
    try {
      btf = data ? parseBtf(data) : undefined;
    } catch {
      // BTF that does not stand alone (split BTF) only costs the typed view of the map.
    }
    cache.set(id, btf);
    return btf;
  }

  /**
   * Mapped memory for a writable mmapable map; map syscalls otherwise. A frozen map is left to the
   * kernel: its writes go to BPF_MAP_UPDATE_ELEM, whose EPERM is the answer the user sees.
   */
  #storage(fd: MapFd, info: MapInfo, frozen: boolean, section: string): VariableStorage {
    const check = () => {
      if (this.#disposed) throw new ObjectError("OBJECT_DISPOSED", `program ${this.summary.id} was closed`, { program: this.summary.name, section });
    };
    if (info.flags & MapFlags.BPF_F_MMAPABLE && !frozen) {
      const mem = this.#resources.add(mmapMap(fd, mmapSize(info.valueSize, 1), { writable: true }));
      if (!mem.readonly) return mappedStorage(mem, 0, { check });
    }
    return syscallStorage(fd, info.valueSize, { check });
  }

  /** The global `name` (see {@link LiveProgram.variables}). */
  variable(name: string): Variable {
    const v = this.variables.get(name);
    if (!v) throw new ObjectError("OBJECT_NO_SUCH_VARIABLE", `program ${this.summary.id} (${this.summary.name}) has no global '${name}' (globals: ${[...this.variables.keys()].join(", ") || "none with BTF"})`, { program: this.summary.name, variable: name });
    return v;
  }

  /** Whether {@link dispose} has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Close every fd and unmap every map. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#resources.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Open a program in the kernel by id, or by the path it is pinned at on a bpffs. */
export function openProgram(target: number | string): LiveProgram {
  if (typeof target === "number") return new LiveProgram(progGetFdById(target));
  const fd = objGet(target);
  if (!(fd instanceof ProgFd)) {
    fd.close();
    throw new ObjectError("OBJECT_NO_SUCH_PROGRAM", `${target} is pinned, but holds a ${fd.kind}, not a program`, { program: target });
  }
  return new LiveProgram(fd);
}

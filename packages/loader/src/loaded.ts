/** A loaded object: its maps, programs and live variables, owned until disposed. */
import { mkdirSync, rmSync } from "node:fs";
import { type Btf, KCONFIG_SECTION } from "@x/btf";
import type { ErrorLocation } from "@x/elf";
import {
  mapDelete, mapInfo, mapKeys, mapLookup, mapUpdate, objPin, progInfo, progTestRun, type ProgTestRunOptions, type ProgTestRunResult,
} from "@x/sys";
import { ProgType } from "@x/sys/abi";
import { Arena } from "./arena-view.js";
import { type Attachment, attachProgram, type AttachPoint } from "./attach.js";
import { LoadedStructOps } from "./loaded-struct-ops.js";
import { userValueSize } from "./cpus.js";
import { ObjectError } from "./errors.js";
import type { KernelFd, MappedRegion } from "./load/kernel.js";
import type { LoadState } from "./load/state.js";
import { Resources } from "./resources.js";
import { mappedStorage, syscallStorage } from "./storage.js";
import type { MapSpec, ObjectSpec, ProgramSpec } from "./spec.js";
import { Variable, type VariableStorage, variableInfo } from "./variables.js";

/** How user space reaches a data section after load. */
export type DataAccess =
  /** Shared memory: reads and writes go straight to the map value (kernel ≥ 5.5). */
  | "mmap"
  /** BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM on each access (kernels without mmapable arrays, or sections with only static variables). */
  | "syscall";

/** A map created (or reused from a pin) by the loader. */
export class LoadedMap {
  /** For internal maps: how variables reach the section. */
  readonly access: DataAccess | undefined;
  readonly #memory: MappedRegion | undefined;
  /** Where the section's bytes start in the mapping (an arena's globals may be at its end). */
  readonly #base: number;
  readonly #btf: Btf | undefined;
  /** The object this map was loaded with (for error locations); none for a map opened by its pin. */
  readonly #object: string | undefined;

  /** @internal */
  constructor(
    readonly spec: MapSpec,
    /** The map's fd handle (owned by the loaded object). */
    readonly fd: KernelFd,
    options: { btf?: Btf; pinPath?: string; memory?: MappedRegion; object?: string; base?: number } = {},
  ) {
    this.#btf = options.btf;
    this.#base = options.base ?? 0;
    this.#object = options.object;
    this.pinPath = options.pinPath;
    this.#memory = options.memory;
    this.access = options.memory ? "mmap" : spec.image ? "syscall" : undefined;
  }

  /** Where the map is pinned, if it is. */
  pinPath: string | undefined;

  get name(): string {
    return this.spec.name;
  }

  /** Where this map is, for errors about it. */
  #where(): ErrorLocation {
    return { object: this.#object, map: this.name, section: this.spec.section };
  }

  /** @internal Storage for the variables of this section. */
  storage(isDisposed: () => boolean): VariableStorage {
    const check = () => {
      if (isDisposed()) throw new ObjectError("OBJECT_DISPOSED", `map '${this.name}' belongs to a disposed object`, this.#where());
    };
    const readOnly = this.spec.freeze ? `the section is read-only after load (${this.spec.section} is frozen; set it before load)` : undefined;
    return this.#memory
      ? mappedStorage(this.#memory, this.#base, { check, readOnly })
      : syscallStorage(this.fd, this.spec.valueSize, { check, readOnly });
  }

  /**
   * Bytes of one value as user space sees it: `valueSize`, or for per-CPU maps one 8-byte-aligned
   * slot per possible CPU, back to back.
   */
  get userValueSize(): number {
    return userValueSize(this.spec.type, this.spec.valueSize);
  }

  /** Look up `key`; returns the value (all CPUs' slots for per-CPU maps), or undefined when absent. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.#checkKey(key);
    const value = new Uint8Array(this.userValueSize);
    return mapLookup(this.fd, key, value) ? value : undefined;
  }

  /** Update `key` with `value` (BPF_ANY unless `flags` says otherwise). Per-CPU maps take every CPU's slot. */
  update(key: Uint8Array, value: Uint8Array, flags?: number): void {
    this.#checkKey(key);
    // The kernel reads exactly this many bytes from `value`: a shorter buffer would be read past its end.
    if (value.byteLength !== this.userValueSize) {
      throw new ObjectError("OBJECT_BAD_VALUE", `map '${this.name}': value must be ${this.userValueSize} bytes, got ${value.byteLength}`, this.#where());
    }
    mapUpdate(this.fd, key, value, flags);
  }

  #checkKey(key: Uint8Array): void {
    if (key.byteLength !== this.spec.keySize) {
      throw new ObjectError("OBJECT_BAD_VALUE", `map '${this.name}': key must be ${this.spec.keySize} bytes, got ${key.byteLength}`, this.#where());
    }
  }

  /** Delete `key`; false when it was absent. */
  delete(key: Uint8Array): boolean {
    this.#checkKey(key);
    return mapDelete(this.fd, key);
  }

  /** Every key, in the kernel's order. */
  keys(): IterableIterator<Uint8Array> {
    return mapKeys(this.fd, this.spec.keySize);
  }

  /** Decode a value with the map's BTF value type, when it has one. */
  get valueTypeId(): number {
    return this.spec.btfValueTypeId;
  }

  /** The object's BTF, for decoding keys and values. */
  get objectBtf(): Btf | undefined {
    return this.#btf;
  }

  /** Kernel info: id, name, flags… */
  info(): ReturnType<typeof mapInfo> {
    return mapInfo(this.fd);
  }

  /** Pin the map at `path` on a bpffs. */
  pin(path: string): void {
    objPin(this.fd, path);
    this.pinPath = path;
  }
}

/** Program types whose BPF_PROG_TEST_RUN takes no repeat count. */
const RUN_ONCE: ReadonlySet<number> = new Set([ProgType.SYSCALL, ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE]);

/** A program loaded into the kernel. */
export class LoadedProgram {
  /** @internal */
  constructor(
    readonly spec: ProgramSpec,
    /** The program's fd handle (owned by the loaded object). */
    readonly fd: KernelFd,
    /** The verifier's log of its load, when it was loaded with a log level above 0. */
    readonly log?: string,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** Run the program once (or `repeat` times) in the kernel on `data`/`ctx` (BPF_PROG_TEST_RUN). */
  testRun(options: ProgTestRunOptions = {}): ProgTestRunResult {
    // Syscall and raw tracepoint programs run once: the kernel refuses any repeat count for them but 0.
    if (RUN_ONCE.has(this.spec.kind?.progType ?? -1) && options.repeat === undefined) options = { ...options, repeat: 0 };
    return progTestRun(this.fd, options);
  }

  /** Kernel info: id, tag, map ids… */
  info(): ReturnType<typeof progInfo> {
    return progInfo(this.fd);
  }

  /** Pin the program at `path` on a bpffs. */
  pin(path: string): void {
    objPin(this.fd, path);
  }

  /**
   * Attach the program at `point` (`{ tc: { interface: "eth0", direction: "ingress" } }`, `{ xdp: … }`,
   * `{ cgroup: … }`, `{ netns: … }`, `{ tracing: true }`): `using link = prog.attach(…)`. The link
   * holds the attachment; it outlives this object only if pinned.
   */
  attach(point: AttachPoint): Attachment {
    return attachProgram(this, point);
  }
}

/** Everything {@link loadObject} created. Dispose it (or `using`) to unmap and close it all. */
export class LoadedObject {
  /** Live variables: reads and writes reach the kernel's copy (mmap, or map syscalls as a fallback). */
  readonly variables: ReadonlyMap<string, Variable>;
  readonly spec: ObjectSpec;
  /** Maps by name, in creation order. */
  readonly maps: ReadonlyMap<string, LoadedMap>;
  /** Programs by name. */
  readonly programs: ReadonlyMap<string, LoadedProgram>;
  /** The object's BTF as loaded into the kernel, when it was. */
  readonly btfFd: KernelFd | undefined;
  /** The object's BPF arena, mapped into this process (objects with a `BPF_MAP_TYPE_ARENA` map). */
  readonly arena: Arena | undefined;
  /** struct_ops maps by name, ready to register (see {@link LoadedObject.structOps}). */
  readonly structOpsMaps: ReadonlyMap<string, LoadedStructOps>;
  readonly #resources = new Resources();
  #disposed = false;

  /** @internal Takes ownership of everything the load made. */
  constructor(state: LoadState) {
    this.spec = state.spec;
    for (const item of state.owned.splice(0)) this.#resources.add(item);
    const btf = state.spec.btf;
    const arena = state.arena;
    this.maps = new Map([...state.maps].map(([name, m]) => [name, new LoadedMap(m.spec, m.fd, { btf, pinPath: m.pinPath, memory: m.memory, object: state.spec.name, base: m === arena?.map ? arena.dataOffset : 0 })]));
    this.structOpsMaps = new Map([...state.structOps].filter(([name]) => this.maps.has(name)).map(([name, st]) => [name, new LoadedStructOps(this.maps.get(name)!, st.value, state.spec.name)]));
    this.arena = arena ? new Arena(arena.map.spec.name, arena.region, arena.dataOffset, btf, state.spec.name, () => this.#disposed) : undefined;
    this.programs = new Map(state.programs.map((p) => [p.spec.name, new LoadedProgram(p.spec, p.fd!, p.log)]));
    this.btfFd = state.btf?.fd;
    const vars = new Map<string, Variable>();
    const storages = new Map<string, VariableStorage>();
    for (const m of this.maps.values()) if (m.spec.section) storages.set(m.spec.section, m.storage(() => this.#disposed));
    for (const v of this.spec.variables.values()) {
      const storage = storages.get(v.section);
      if (storage) vars.set(v.name, new Variable(v, v.btf, storage));
    }
    // Kconfig externs, as resolved: read-only variables of the .kconfig map.
    const kconfig = storages.get(KCONFIG_SECTION);
    if (kconfig && btf) {
      for (const e of this.spec.externs) {
        if (e.kind !== "kconfig") continue;
        const info = variableInfo(btf, { name: e.name, section: KCONFIG_SECTION, offset: e.offset, size: e.size, typeId: e.typeId, linkage: "extern" }, this.spec.name);
        vars.set(e.name, new Variable(info, btf, kconfig));
      }
    }
    this.variables = vars;
  }

  /** Whether {@link dispose} has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** The program named `name`. */
  program(name: string): LoadedProgram {
    const p = this.programs.get(name);
    if (!p) throw new ObjectError("OBJECT_NO_SUCH_PROGRAM", `no loaded program '${name}' (loaded: ${[...this.programs.keys()].join(", ") || "none"})`, { object: this.spec.name, program: name });
    return p;
  }

  /** The map named `name` (kernel name, or the section name for internal maps). */
  map(name: string): LoadedMap {
    const m = this.maps.get(name) ?? [...this.maps.values()].find((x) => x.spec.section === name);
    if (!m) throw new ObjectError("OBJECT_NO_SUCH_MAP", `no map '${name}' (maps: ${[...this.maps.keys()].join(", ")})`, { object: this.spec.name, map: name });
    return m;
  }

  /**
   * The struct_ops map named `name` (its `register()` makes the kernel use it: a TCP congestion control
   * becomes available by its name). Dispose the registration to unregister it.
   */
  structOps(name: string): LoadedStructOps {
    const m = this.structOpsMaps.get(name);
    if (!m) throw new ObjectError("OBJECT_NO_SUCH_MAP", `no struct_ops map '${name}' (struct_ops maps: ${[...this.structOpsMaps.keys()].join(", ") || "none"})`, { object: this.spec.name, map: name });
    return m;
  }

  /** The live variable named `name`. */
  variable(name: string): Variable {
    const v = this.variables.get(name);
    if (!v) throw new ObjectError("OBJECT_NO_SUCH_VARIABLE", `no global variable '${name}' in ${this.spec.name}`, { object: this.spec.name, variable: name });
    return v;
  }

  /**
   * Pin every program at `dir/NAME` and every map at `dir/maps/NAME` (dots in names become `_`,
   * as bpftool does). `dir` must be on a bpffs.
   */
  pin(dir: string): { programs: Record<string, string>; maps: Record<string, string> } {
    mkdirSync(`${dir}/maps`, { recursive: true });
    const programs: Record<string, string> = {};
    const maps: Record<string, string> = {};
    const made: string[] = [];
    const pinnedMaps: LoadedMap[] = [];
    try {
      for (const p of this.programs.values()) {
        p.pin((programs[p.name] = `${dir}/${p.name}`));
        made.push(programs[p.name]!);
      }
      for (const m of this.maps.values()) {
        if (m.pinPath) continue;
        m.pin((maps[m.name] = `${dir}/maps/${m.name.replace(/\./g, "_")}`));
        made.push(maps[m.name]!);
        pinnedMaps.push(m);
      }
    } catch (e) {
      // All or nothing: a half-pinned object would keep some of it alive with no owner.
      for (const path of made) rmSync(path, { force: true });
      for (const m of pinnedMaps) m.pinPath = undefined;
      throw e;
    }
    return { programs, maps };
  }

  /** Unmap every data section and close every fd. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#resources.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

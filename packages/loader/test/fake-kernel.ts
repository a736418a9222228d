/**
 * A kernel that records what a load asks of it instead of doing it: every operation becomes one
 * line of `ops`, in order, so tests can check the order and arguments of a whole load.
 */
import type { Btf } from "@x/btf";
import type { FeatureName, MapCreateOptions, ProgLoadOptions, TypeProbeResult } from "@x/sys";
import type { Kernel, KernelBtfTypes, KernelFd, KernelSymbols, MappedRegion, PinnedMap } from "../src/load/kernel.js";

/** What the fake answers to a feature probe. */
export type FakeFeatures = Partial<Record<FeatureName, boolean | "unknown">>;

/** What the fake kernel's symbol sources hold (nothing by default: no config, no kallsyms, no BTF). */
export interface FakeSymbols {
  config?: string;
  kallsyms?: Record<string, bigint>;
  linuxKernelVersion?: number;
  btf?: KernelBtfTypes[];
}

export class FakeKernel implements Kernel {
  /** One line per operation, e.g. `map_create globals.rodata`, `prog_load read_config`. */
  readonly ops: string[] = [];
  /** Arguments of the creating calls, by the fd they returned. */
  readonly maps = new Map<number, MapCreateOptions>();
  readonly programs = new Map<number, ProgLoadOptions>();
  /** Values written with map updates, by map fd. */
  readonly values = new Map<number, Uint8Array>();
  /** Fds handed out and not closed. */
  readonly open = new Set<number>();
  /** Make the named operation throw (e.g. `prog_load read_config`). */
  failOn: string | undefined;
  #next = 100;
  #names = new Map<number, string>();

  readonly symbols: KernelSymbols;

  constructor(readonly features: FakeFeatures = {}, sources: FakeSymbols = {}) {
    this.symbols = {
      config: () => {
        this.ops.push("read config");
        if (sources.config === undefined) throw new Error("fake kernel: no kernel config");
        return { path: "/fake/config", text: sources.config };
      },
      kallsyms: (name) => {
        this.ops.push(`kallsyms ${name}`);
        return sources.kallsyms?.[name];
      },
      linuxKernelVersion: () => sources.linuxKernelVersion ?? (6 << 16) | (18 << 8),
      btfObjects: () => sources.btf ?? [],
      openBtf: (id) => {
        this.#op(`btf_get_fd_by_id ${id}`);
        return this.#fd(`btf#${id}`);
      },
    };
  }

  #op(line: string): void {
    this.ops.push(line);
    if (this.failOn === line) throw Object.assign(new Error(`fake kernel: ${line} refused`), { errnoName: "EINVAL" });
  }

  #fd(name: string): KernelFd {
    const fd = this.#next++;
    this.#names.set(fd, name);
    this.open.add(fd);
    return {
      fd,
      [Symbol.dispose]: () => {
        this.ops.push(`close ${name}`);
        this.open.delete(fd);
      },
    };
  }

  name(fd: { fd: number } | number | undefined): string {
    const n = typeof fd === "number" ? fd : fd?.fd;
    return n === undefined ? "-" : (this.#names.get(n) ?? `fd ${n}`);
  }

  hasFeature(feature: FeatureName): boolean {
    this.ops.push(`probe ${feature}`);
    const a = this.features[feature] ?? true;
    if (a === "unknown") throw new Error(`fake kernel: cannot tell whether it has ${feature}`);
    return a;
  }

  loadBtf(bytes: Uint8Array): KernelFd {
    this.#op("btf_load");
    void bytes;
    return this.#fd("btf");
  }

  createMap(o: MapCreateOptions): KernelFd {
    this.#op(`map_create ${o.name}`);
    const fd = this.#fd(o.name ?? "map");
    this.maps.set(fd.fd, o);
    return fd;
  }

  updateElement(map: KernelFd, _key: Uint8Array, value: Uint8Array): void {
    this.#op(`map_update ${this.name(map)}`);
    this.values.set(map.fd, value.slice());
  }

  freezeMap(map: KernelFd): void {
    this.#op(`map_freeze ${this.name(map)}`);
  }

  loadProgram(o: ProgLoadOptions): KernelFd {
    this.#op(`prog_load ${o.name}`);
    const fd = this.#fd(o.name ?? "prog");
    this.programs.set(fd.fd, o);
    return fd;
  }

  bindMap(program: KernelFd, map: KernelFd): void {
    this.#op(`prog_bind_map ${this.name(program)} ${this.name(map)}`);
  }

  pin(object: KernelFd, path: string): void {
    this.#op(`pin ${this.name(object)} ${path}`);
  }

  openPinnedMap(path: string): PinnedMap | "not a map" | undefined {
    this.#op(`obj_get ${path}`);
    return undefined;
  }

  reuseMap(map: KernelFd): PinnedMap {
    this.#op(`reuse ${this.name(map)}`);
    throw new Error("the fake kernel has no maps to reuse");
  }

  mapMemory(map: KernelFd, shape: { valueSize: number; maxEntries: number; writable: boolean }): MappedRegion {
    this.#op(`mmap ${this.name(map)} ${shape.writable ? "rw" : "ro"}`);
    const bytes = new Uint8Array(shape.valueSize);
    return {
      read: (offset, length) => bytes.slice(offset, offset + length),
      write: (offset, data) => bytes.set(data, offset),
      [Symbol.dispose]: () => this.ops.push(`munmap ${this.name(map)}`),
    };
  }

  mapArena(map: KernelFd, shape: { size: number; address: bigint }) {
    this.#op(`mmap arena ${this.name(map)} ${shape.size} at 0x${shape.address.toString(16)}`);
    const bytes = new Uint8Array(shape.size);
    return {
      address: shape.address || 0x7f0000000000n,
      length: shape.size,
      read: (offset: number, length: number) => bytes.slice(offset, offset + length),
      write: (offset: number, data: Uint8Array) => bytes.set(data, offset),
      [Symbol.dispose]: () => this.ops.push(`munmap ${this.name(map)}`),
    };
  }

  pageSize(): number {
    return 4096;
  }

  version() {
    return { release: "6.18.0-fake", major: 6, minor: 18, patch: 0, code: (6 << 16) | (18 << 8) };
  }

  possibleCpus(): number {
    return 2;
  }

  vmlinuxTypeId(): number | undefined {
    return undefined;
  }

  openProgram(target: number | string): KernelFd {
    return this.#fd(`program ${target}`);
  }

  programBtf(): Btf | undefined {
    return undefined;
  }

  probeProgType(type: number): TypeProbeResult {
    return { name: `prog_type ${type}`, minKernel: "?", description: "", status: "unknown", supported: false };
  }

  probeAttachType(progType: number, attachType: number): TypeProbeResult {
    return { name: `attach_type ${attachType} (${progType})`, minKernel: "?", description: "", status: "unknown", supported: false };
  }
}

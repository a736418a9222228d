/**
 * The recording kernel: the kernel seam of a load that makes no object but writes down every call,
 * for the emitter to turn into a loader program. What it creates are placeholders: descriptors with
 * numbers no real fd has, which the emitter recognises wherever the load put them (attr fields,
 * `ld_imm64`s, map values) and which take the real fd once the loader program has run.
 *
 * Questions about the kernel (probes, kallsyms, BTF, the version) are answered by the kernel the
 * loader program is generated for, through `base`: what a normal load decides by asking, the loader
 * program has decided when it was generated.
 */
import type { MapCreateOptions, ProgLoadOptions } from "@x/sys";
import { ObjectError } from "../errors.js";
import type { ArenaRegion, Kernel, KernelBtfTypes, KernelFd, MappedRegion } from "../load/kernel.js";

/** The first placeholder number: beyond any real descriptor (Linux caps `nr_open` at 2^30). */
export const PLACEHOLDER_BASE = 0x50000000;

/** A kernel object of the recorded load: a placeholder until {@link Placeholder.bind} gives it the real fd. */
export class Placeholder implements KernelFd {
  #handle: KernelFd | undefined;
  constructor(readonly index: number) {}
  /** The placeholder number, or the real fd once bound. */
  get fd(): number {
    return this.#handle ? this.#handle.fd : PLACEHOLDER_BASE + this.index;
  }
  /** Whether the real fd is in. */
  get bound(): boolean {
    return this.#handle !== undefined;
  }
  /** Take the real descriptor's handle, which this placeholder then owns (and closes on dispose). */
  bind(handle: KernelFd): void {
    this.#handle = handle;
  }
  [Symbol.dispose](): void {
    this.#handle?.[Symbol.dispose]();
  }
}

/** A region the load mapped: mapped for real (through `base`) once the map has its fd. */
export class DeferredRegion implements MappedRegion {
  #inner: MappedRegion | undefined;
  constructor(
    readonly map: KernelFd,
    readonly shape: { valueSize: number; maxEntries: number; writable: boolean },
  ) {}
  /** Map it, now that `map` holds the real fd. */
  materialize(base: Kernel): void {
    this.#inner ??= base.mapMemory(this.map, this.shape);
  }
  #region(): MappedRegion {
    if (!this.#inner) throw new Error("internal: a loader program's map memory was used before the loader program ran");
    return this.#inner;
  }
  read(offset: number, length: number): Uint8Array {
    return this.#region().read(offset, length);
  }
  write(offset: number, bytes: Uint8Array): void {
    this.#region().write(offset, bytes);
  }
  [Symbol.dispose](): void {
    this.#inner?.[Symbol.dispose]();
    this.#inner = undefined;
  }
}

/** One recorded call. */
export type RecordedCall =
  | { readonly kind: "btf"; readonly fd: Placeholder; readonly bytes: Uint8Array }
  | { readonly kind: "map"; readonly fd: Placeholder; readonly options: MapCreateOptions }
  | { readonly kind: "update"; readonly map: KernelFd; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly kind: "freeze"; readonly map: KernelFd }
  | { readonly kind: "program"; readonly fd: Placeholder; readonly options: ProgLoadOptions }
  | { readonly kind: "bind"; readonly program: KernelFd; readonly map: KernelFd };

/** A type the load looked up in a kernel BTF by name: resolved again, by name, when the loader program runs. */
export interface RecordedLookup {
  readonly name: string;
  readonly kind: "FUNC" | "VAR" | "TYPEDEF" | "STRUCT";
  /** The BTF object it was found in at generation time (`vmlinux` or a module). */
  readonly object: string;
}

/** What a loader program cannot do, refused while recording (with the reason). */
function refuse(what: string, why: string): ObjectError {
  return new ObjectError("OBJECT_LOADER_PROGRAM", `${what} cannot be replayed by a loader program: ${why}`);
}

/** The seam of a recorded load (see the module comment). */
export class RecordingKernel implements Kernel, Disposable {
  readonly calls: RecordedCall[] = [];
  /** Kernel BTF ids the load used, by `BTF object id:type id` (vmlinux is object 0). */
  readonly lookups = new Map<string, RecordedLookup>();
  /** Typeless ksyms' generation-time addresses, by name. */
  readonly kallsymsLookups = new Map<string, bigint | undefined>();
  /** Module BTF fds the load opened (placeholders), by module BTF id. */
  readonly moduleBtfs = new Map<number, Placeholder>();
  /** Regions to map once the run gave the maps their fds. */
  readonly regions: DeferredRegion[] = [];
  readonly placeholders: Placeholder[] = [];
  readonly symbols: Kernel["symbols"];

  constructor(readonly base: Kernel) {
    const record = (obj: KernelBtfTypes): KernelBtfTypes => ({
      name: obj.name,
      id: obj.id,
      btf: obj.btf,
      find: (name, kind) => {
        const id = obj.find(name, kind);
        if (id !== undefined) this.lookups.set(`${obj.id}:${id}`, { name, kind: kind as RecordedLookup["kind"], object: obj.name });
        return id;
      },
    });
    const self = this;
    this.symbols = {
      config: () => base.symbols.config(),
      kallsyms: (name) => {
        const address = base.symbols.kallsyms(name);
        this.kallsymsLookups.set(name, address);
        return address;
      },
      linuxKernelVersion: () => base.symbols.linuxKernelVersion(),
      *btfObjects() {
        for (const obj of base.symbols.btfObjects()) yield record(obj);
      },
      openBtf(id) {
        let fd = self.moduleBtfs.get(id);
        if (!fd) self.moduleBtfs.set(id, (fd = self.#placeholder()));
        return { fd: fd.fd, [Symbol.dispose]() {} };
      },
    };
  }

  #placeholder(): Placeholder {
    const p = new Placeholder(this.placeholders.length);
    this.placeholders.push(p);
    return p;
  }

  /** The placeholder a number stands for, if it is one. */
  placeholderOf(fd: number): Placeholder | undefined {
    const p = this.placeholders[fd - PLACEHOLDER_BASE];
    return p && !p.bound ? p : undefined;
  }

  hasFeature(feature: Parameters<Kernel["hasFeature"]>[0]): boolean {
    return this.base.hasFeature(feature);
  }
  loadBtf(bytes: Uint8Array): KernelFd {
    const fd = this.#placeholder();
    this.calls.push({ kind: "btf", fd, bytes });
    return fd;
  }
  createMap(options: MapCreateOptions): KernelFd {
    if (options.btfVmlinuxValueTypeId) throw refuse(`map '${options.name ?? "?"}' (struct_ops)`, "struct_ops maps are registered from user space after the load; load this object directly");
    if (options.btfFd !== undefined && (options.btfKeyTypeId || options.btfValueTypeId) && options.innerMapFd === undefined) this.#tryWithBtf(options);
    const fd = this.#placeholder();
    this.calls.push({ kind: "map", fd, options });
    return fd;
  }
  updateElement(map: KernelFd, key: Uint8Array, value: Uint8Array): void {
    this.calls.push({ kind: "update", map, key: key.slice(), value: value.slice() });
  }
  /**
   * A direct load creates a map with its BTF types and, when the kernel refuses them, again without
   * (as libbpf). A loader program cannot retry, so the kernel decides now: the map is created for real
   * with the object's BTF, then closed; a refusal throws, and the load records the map without BTF.
   */
  #tryWithBtf(options: MapCreateOptions): void {
    const btf = this.calls.find((c) => c.kind === "btf");
    if (!btf) return;
    this.#trialBtf ??= this.base.loadBtf(btf.bytes);
    using _ = this.base.createMap({ ...options, btfFd: this.#trialBtf });
  }
  #trialBtf: KernelFd | undefined;

  /** Close what the recording opened on the real kernel to decide (see {@link RecordingKernel.createMap}). */
  [Symbol.dispose](): void {
    this.#trialBtf?.[Symbol.dispose]();
    this.#trialBtf = undefined;
  }

  freezeMap(map: KernelFd): void {
    this.calls.push({ kind: "freeze", map });
  }
  loadProgram(options: ProgLoadOptions): KernelFd & { readonly log?: string } {
    if (options.attachProgFd !== undefined) throw refuse(`program '${options.name ?? "?"}'`, "its attach target is another BPF program, which a loader program cannot open (BPF_PROG_GET_FD_BY_ID is not among bpf_sys_bpf()'s commands)");
    const fd = this.#placeholder();
    this.calls.push({ kind: "program", fd, options });
    return fd;
  }
  bindMap(program: KernelFd, map: KernelFd): void {
    this.calls.push({ kind: "bind", program, map });
  }
  pin(): void {
    throw refuse("a pinned map", "bpf_sys_bpf() has no BPF_OBJ_PIN (libbpf's light skeleton does not pin either); load without pinning, or directly");
  }
  openPinnedMap(path: string): never {
    throw refuse(`a map pinned by name (${path})`, "a pinned map is looked up when the object loads, which the loader program cannot do (BPF_OBJ_GET is not among bpf_sys_bpf()'s commands); load it directly, or clear its pinning (spec.maps[i].pinning = 0)");
  }
  reuseMap(): never {
    throw refuse("a reused map", "the loader program creates every map itself");
  }
  mapMemory(map: KernelFd, shape: { valueSize: number; maxEntries: number; writable: boolean }): MappedRegion {
    const r = new DeferredRegion(map, shape);
    this.regions.push(r);
    return r;
  }
  mapArena(): ArenaRegion {
    throw refuse("an arena", "its pages are mapped and its globals written from user space while the object loads, between creating the arena and loading the programs");
  }
  pageSize(): number {
    return this.base.pageSize();
  }
  version() {
    return this.base.version();
  }
  possibleCpus(): number {
    return this.base.possibleCpus();
  }
  vmlinuxTypeId(name: string, kind: "FUNC" | "TYPEDEF" | "STRUCT"): number | undefined {
    const id = this.base.vmlinuxTypeId(name, kind);
    if (id !== undefined) this.lookups.set(`0:${id}`, { name, kind, object: "vmlinux" });
    return id;
  }
  openProgram(): never {
    throw refuse("a program attached to another BPF program", "a loader program cannot open other programs");
  }
  programBtf(): never {
    throw refuse("a program attached to another BPF program", "a loader program cannot read other programs' BTF");
  }
  probeProgType(type: number) {
    return this.base.probeProgType(type);
  }
  probeAttachType(progType: number, attachType: number) {
    return this.base.probeAttachType(progType, attachType);
  }
}

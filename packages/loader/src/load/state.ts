/** What one load computes and makes, shared by its phases, and the one cleanup that undoes it. */
import type { FeatureName } from "@x/sys";
import type { Instruction, LinkedProgram } from "@x/reloc";
import type { ExtInfo } from "@x/sys";
import type { MapSpec, ObjectSpec, ProgramSpec } from "../spec.js";
import type { ProgramLoadOptions } from "./index.js";
import type { ArenaRegion, Kernel, KernelFd, MappedRegion } from "./kernel.js";

/** Options of a load (see `LoadOptions`), with defaults applied. */
export interface LoadSettings {
  /** Programs to load, by name; undefined: every program marked autoload. */
  readonly programs: readonly string[] | undefined;
  /** Directory for maps pinned by name. */
  readonly pinRoot: string;
  /** Verifier log level for every program. */
  readonly logLevel: number;
  /** Per-program log level and extra `prog_flags`. */
  readonly programOptions: Readonly<Record<string, ProgramLoadOptions>>;
  /** Target BTF for CO-RE instead of the running kernel's (a path or bytes: raw BTF or an ELF object's .BTF). */
  readonly btf: string | Uint8Array | undefined;
  /** Where warnings go. */
  readonly warn: (message: string) => void;
  /** Maps to reuse instead of creating, by map or section name: a map fd, or the path of a pinned map. */
  readonly reuseMaps: Readonly<Record<string, KernelFd | string>>;
}

/** The object's BTF as the kernel holds it. */
export interface LoadedBtfState {
  readonly fd: KernelFd;
  /** Offset of `s` in the loaded string table (line info refers to strings by offset). */
  stringOffset(s: string): number | undefined;
}

/** A map of this load: created here, or reused from a pin. */
export interface MapState {
  readonly spec: MapSpec;
  readonly fd: KernelFd;
  /** Reused from a pin (then it is neither written nor frozen). */
  readonly reused: boolean;
  /** Its initial value: the spec's image, or for `.kconfig` the values the externs phase resolved. */
  readonly image: Uint8Array | undefined;
  /** Where it is pinned, if it is. */
  pinPath?: string;
  /** Its values mapped into this process (data sections, once the map-memory phase ran). */
  memory?: MappedRegion;
}

/** A program of this load, from selection to its fd. */
export interface ProgramState {
  readonly spec: ProgramSpec;
  /** Subprograms appended, relocations rebased (pure; shared by every load of the spec). */
  readonly linked: LinkedProgram;
  /** The linked instructions with CO-RE relocations applied (a copy; unset when the program has none). */
  code?: Instruction[];
  /** Instructions a CO-RE relocation poisoned, with why (to explain a verifier rejection they cause). */
  corePoisons?: Map<number, string>;
  /** Instruction bytes with map references patched in (the relocate phase). */
  insns?: Uint8Array;
  /** A struct_ops program: the kernel struct it implements a member of, and that member's index. */
  structOps?: { readonly attachBtfId: number; readonly expectedAttachType: number };
  /** func_info / line_info for the kernel (the relocate phase). */
  ext?: { funcInfo?: ExtInfo; lineInfo?: ExtInfo };
  fd?: KernelFd;
  /** The verifier's log of a successful load (with a log level above 0). */
  log?: string;
}

/** A struct_ops map's value in the kernel's layout (see the struct_ops phase). */
export interface StructOpsState {
  /** `struct bpf_struct_ops_NAME`, with the object's values in its `data` member; program fds go in at `programs[].offset`. */
  readonly value: Uint8Array;
  readonly valueSize: number;
  /** The vmlinux BTF id of `struct bpf_struct_ops_NAME`. */
  readonly btfVmlinuxValueTypeId: number;
  /** Function pointer members: where each program's fd goes in `value`. */
  readonly programs: readonly { readonly member: string; readonly program: string; readonly offset: number }[];
}

/** What one extern of the object resolved to (see the externs phase). */
export type ResolvedExtern =
  /** A kconfig value, in the `.kconfig` image at the extern's offset. */
  | { readonly kind: "kconfig"; readonly set: boolean }
  /** A typeless ksym's address (0 for an unresolved weak one). */
  | { readonly kind: "address"; readonly address: bigint }
  /** A typed ksym or a kfunc: its BTF id in the kernel, and the module BTF it is in (none: vmlinux). */
  | { readonly kind: "btf"; readonly btfId: number; readonly module?: { readonly name: string; readonly fd: KernelFd; readonly fdIndex: number } }
  /** An unresolved weak typed ksym or kfunc. */
  | { readonly kind: "missing" };

/** Feature answers this load asked for in its probe phase. */
export class FeatureSet {
  readonly #answers = new Map<FeatureName, boolean>();
  constructor(private readonly kernel: Kernel) {}

  /** Probe `name` (through the kernel seam, where probes are cached per process). */
  probe(name: FeatureName): boolean {
    let a = this.#answers.get(name);
    if (a === undefined) this.#answers.set(name, (a = this.kernel.hasFeature(name)));
    return a;
  }

  /**
   * The answer the probe phase got. Asking for a feature it did not probe is a bug in the phase
   * list (the probe phase is where "could not tell" must surface, before anything is created).
   */
  has(name: FeatureName): boolean {
    const a = this.#answers.get(name);
    if (a === undefined) throw new Error(`internal: feature '${name}' was not probed by the probe phase`);
    return a;
  }

  /** Every feature probed so far, in order. */
  get probed(): FeatureName[] {
    return [...this.#answers.keys()];
  }
}

/** The state of one load. Phases read and fill it; nothing about a load lives anywhere else. */
export class LoadState {
  readonly features: FeatureSet;
  /** Selected programs, in ELF order. */
  programs: ProgramState[] = [];
  btf: LoadedBtfState | undefined;
  /** Externs by name, once resolved. */
  readonly externs = new Map<string, ResolvedExtern>();
  /** The object's arena, once mapped: where its globals are (see `arenaDataOffset`). */
  arena: { readonly map: MapState; readonly region: ArenaRegion; readonly dataOffset: number } | undefined;
  /** struct_ops maps by name: their values in the kernel's layout. */
  readonly structOps = new Map<string, StructOpsState>();
  /** The `.kconfig` map's value, once the externs are resolved. */
  kconfigImage: Uint8Array | undefined;
  /**
   * `fd_array` for every program: index 0 unused (libbpf), then each module BTF that a kfunc call
   * refers to by `insn->off`. Empty when no kfunc lives in a module.
   */
  readonly fdArray: KernelFd[] = [];
  /** Maps by name, in creation order. */
  readonly maps = new Map<string, MapState>();
  /** Everything created, newest last: closed on failure, handed to the loaded object on success. */
  readonly owned: Disposable[] = [];
  /** Undo steps that only a failed load runs (pins it made), newest last. */
  readonly undo: (() => void)[] = [];

  constructor(
    readonly spec: ObjectSpec,
    readonly settings: LoadSettings,
    readonly kernel: Kernel,
  ) {
    this.features = new FeatureSet(kernel);
  }

  /** Keep `item` for cleanup; returns it. */
  own<T extends Disposable>(item: T): T {
    this.owned.push(item);
    return item;
  }

  /** The map state of the map named `name`. */
  map(name: string): MapState | undefined {
    return this.maps.get(name);
  }

  /** Undo a failed load: run the undo steps, then close everything, newest first. Never throws. */
  abandon(): void {
    for (const step of this.undo.splice(0).reverse()) {
      try {
        step();
      } catch {
        // Best effort, as libbpf: the load's own error is what the caller needs to see.
      }
    }
    for (const item of this.owned.splice(0).reverse()) {
      try {
        item[Symbol.dispose]();
      } catch {
        // Same: keep closing the rest.
      }
    }
  }
}

/**
 * Loading an object: the phases of {@link LOAD_PHASES} over one per-load state, through one
 * kernel seam. A failure in any phase undoes the pins the load made and closes everything it
 * created, newest first.
 */
import { XError } from "@x/elf";
import { LoadedObject } from "../loaded.js";
import type { ObjectSpec } from "../spec.js";
import { type Kernel, type KernelFd, systemKernel } from "./kernel.js";
import { LOAD_PHASES } from "./phases.js";
import { loadWithLoaderProgram } from "../loader-program/load.js";
import { type LoadSettings, LoadState } from "./state.js";

/** The settings of a load: `options` with the defaults filled in. */
export function loadSettings(options: LoadOptions): LoadSettings {
  return {
    programs: options.programs,
    pinRoot: options.pinRoot ?? "/sys/fs/bpf",
    logLevel: options.logLevel ?? 0,
    programOptions: options.programOptions ?? {},
    btf: options.btf,
    warn: options.warn ?? (() => {}),
    reuseMaps: options.reuseMaps ?? {},
  };
}

/** Options for {@link loadObject}. */
export interface LoadOptions {
  /**
   * Load only these programs (default: every program whose section is not `?`-prefixed). struct_ops
   * programs follow their maps either way, as in libbpf: loaded when a created struct_ops map uses them.
   */
  readonly programs?: readonly string[];
  /** Directory for maps declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)` (default `/sys/fs/bpf`, like libbpf). */
  readonly pinRoot?: string;
  /** Verifier log level for every program (0: a log only on failure). */
  readonly logLevel?: number;
  /**
   * Per program, by name: its verifier log level (instead of `logLevel`) and `prog_flags` added to
   * what its section gives (libbpf's `bpf_program__set_log_level` / `bpf_program__set_flags`).
   */
  readonly programOptions?: Readonly<Record<string, ProgramLoadOptions>>;
  /** Called with warnings (BTF refused by the kernel, binding failures); default: ignored. */
  readonly warn?: (message: string) => void;
  /**
   * The BTF CO-RE relocations are computed against instead of the running kernel's (libbpf's
   * `btf_custom_path`): a path or bytes, raw BTF (as `/sys/kernel/btf/vmlinux`) or an ELF object with
   * `.BTF`. For kernels without `/sys/kernel/btf/vmlinux`, or to load for another kernel's layout.
   */
  readonly btf?: string | Uint8Array;
  /**
   * Maps to reuse instead of creating them (libbpf `bpf_map__reuse_fd`), by map name or section
   * (`".bss"`): a map of another load (a `LoadedMap`'s `fd`) or the path of a pinned map. Each must
   * have the shape the object declares; a reused map keeps its contents (its initial values are not
   * written). The way to carry state (`.bss` counters, pinned maps) into a new version of a program.
   */
  readonly reuseMaps?: Readonly<Record<string, KernelFd | string>>;
  /** The kernel to load into (default: this machine's, through @x/sys). Tests pass a fake one. */
  readonly kernel?: Kernel;
  /**
   * Load through a loader program (libbpf's light skeleton): the load is recorded, turned into one
   * `BPF_PROG_TYPE_SYSCALL` program, and replayed inside the kernel (Linux 5.14). The same maps and
   * programs result; what the loader program cannot replay (pins, arenas, struct_ops) is refused.
   */
  readonly loaderProgram?: boolean;
}

/** Load settings of one program (see {@link LoadOptions.programOptions}). */
export interface ProgramLoadOptions {
  /** Verifier log level; above 0 the log of a successful load is kept as `LoadedProgram.log`. */
  readonly logLevel?: number;
  /** `BPF_F_*` program flags (`ProgFlags`), added to the section's. */
  readonly flags?: number;
  /**
   * The BPF program it attaches to (libbpf `bpf_program__set_attach_target`): needed by `freplace`
   * programs, and lets `fentry`/`fexit` trace a BPF program instead of a kernel function.
   */
  readonly attachTarget?: AttachTarget;
}

/** A BPF program (and one of its functions) another program is loaded against. */
export interface AttachTarget {
  /** The target program: its id, the path it is pinned at, or an fd (a `LoadedProgram`'s `fd`). */
  readonly program: number | string | KernelFd;
  /** The function of the target (a global function, for freplace); default: the section's, after its `/`. */
  readonly function?: string;
}

/**
 * Load `spec` into the kernel. The spec's variable values at this moment become the maps' initial
 * contents; `.rodata*` maps are frozen before any program loads so the verifier can use the constants.
 *
 * @throws `LoadError` naming the map or program that failed, with the verifier log attached;
 *   `UnsupportedFeatureError` when the kernel lacks something the object needs; `ObjectError`
 *   for what the loader cannot do with this object.
 */
export function loadObject(spec: ObjectSpec, options: LoadOptions = {}): LoadedObject {
  if (options.loaderProgram) return loadWithLoaderProgram(spec, loadSettings(options), options.kernel ?? systemKernel);
  const state = new LoadState(spec, loadSettings(options), options.kernel ?? systemKernel);
  try {
    for (const phase of LOAD_PHASES) phase.run(state);
    return new LoadedObject(state);
  } catch (e) {
    state.abandon();
    throw e instanceof XError ? e.within({ object: spec.name }) : e;
  }
}

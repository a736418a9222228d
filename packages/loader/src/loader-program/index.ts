/**
 * Loader programs (libbpf's light skeleton): a whole load recorded once and replayed inside the
 * kernel by one `BPF_PROG_TYPE_SYSCALL` program, with no ELF, BTF or relocation work left at run time.
 * {@link generateLoaderProgram} records and emits; `runLoaderProgram` from `@x/sys/loader-program`
 * runs the result; `loadObject(spec, { loaderProgram: true })` does both and returns a loaded object.
 */
import type { LoaderProgram } from "@x/sys";
import { type LoadOptions, loadSettings } from "../load/index.js";
import { systemKernel } from "../load/kernel.js";
import type { ObjectSpec } from "../spec.js";
import { recordLoad } from "./load.js";

/** Options of {@link generateLoaderProgram}: those of a load that a loader program can keep. */
export type LoaderProgramOptions = Pick<LoadOptions, "programs" | "logLevel" | "programOptions" | "btf" | "warn" | "kernel">;

/**
 * Record the load of `spec` and emit the loader program that replays it. Probes, BTF sanitising,
 * CO-RE and kconfig values are decided now, for the kernel the options name (default: this one);
 * kfuncs, typed and typeless ksyms and attach targets are looked up by name when it runs. The spec's
 * variable values now are the maps' initial values, which a run can replace.
 *
 * @throws `ObjectError` `OBJECT_LOADER_PROGRAM` for what a loader program cannot replay (pinned or
 *   reused maps, arenas, struct_ops, programs attached to other BPF programs), and what a load throws.
 */
export function generateLoaderProgram(spec: ObjectSpec, options: LoaderProgramOptions = {}): LoaderProgram {
  return recordLoad(spec, loadSettings(options), options.kernel ?? systemKernel).emitted.program;
}

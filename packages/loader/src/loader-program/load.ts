/**
 * Loading through a loader program: the load's phases run against a {@link RecordingKernel}, the
 * recording becomes a loader program, the loader program runs, and the load's state takes the fds it
 * made, so the result is the same {@link LoadedObject} as a direct load's.
 */
import { XError } from "@x/elf";
import { BpfCmd, BpfSyscallError, BtfFd, commandName, LoaderProgramError, MapFd, ProgFd, ProgType, runLoaderProgram, UnsupportedFeatureError } from "@x/sys";
import { LoadError, ObjectError } from "../errors.js";
import { LoadedObject } from "../loaded.js";
import type { Kernel } from "../load/kernel.js";
import { LOAD_PHASES } from "../load/phases.js";
import { programLoadError } from "../load/phases/load-programs.js";
import { mapError } from "../load/phases/map-error.js";
import { type LoadSettings, LoadState } from "../load/state.js";
import type { ObjectSpec } from "../spec.js";
import { type EmittedLoaderProgram, emitLoaderProgram } from "./emit.js";
import { RecordingKernel } from "./recording-kernel.js";

/** Record the load of `spec` (no object is made) and emit its loader program; `state` is the recorded load. */
export function recordLoad(spec: ObjectSpec, settings: LoadSettings, base: Kernel): { emitted: EmittedLoaderProgram; state: LoadState; recording: RecordingKernel } {
  using recording = new RecordingKernel(base);
  const state = new LoadState(spec, settings, recording);
  for (const phase of LOAD_PHASES) phase.run(state);
  return { emitted: emitLoaderProgram(recording, state), state, recording };
}

/**
 * Throw `UnsupportedFeatureError` (`loader_program`, Linux 5.14) unless `kernel` can run loader programs
 * (`BPF_PROG_TYPE_SYSCALL` and `bpf_sys_bpf()` came together, in 5.14).
 */
export function checkLoaderProgramSupport(kernel: Kernel): void {
  const probe = kernel.probeProgType(ProgType.SYSCALL);
  if (probe.status === "missing") {
    throw new UnsupportedFeatureError("loader_program", "5.14", "loader programs need BPF_PROG_TYPE_SYSCALL and bpf_sys_bpf()");
  }
}

/** See `LoadOptions.loaderProgram`. */
export function loadWithLoaderProgram(spec: ObjectSpec, settings: LoadSettings, base: Kernel): LoadedObject {
  let state: LoadState | undefined;
  try {
    checkLoaderProgramSupport(base);
    const recorded = recordLoad(spec, settings, base);
    state = recorded.state;
    const { emitted, recording } = recorded;
    const lp = emitted.program;
    let run: ReturnType<typeof runLoaderProgram>;
    try {
      run = runLoaderProgram(lp, { logLevel: settings.logLevel });
    } catch (e) {
      throw runError(state, e);
    }
    lp.maps.forEach((m, i) => emitted.maps[i]!.bind(new MapFd(run.maps.get(m.name)!)));
    lp.programs.forEach((p, i) => emitted.programs[i]!.bind(new ProgFd(run.programs.get(p.name)!)));
    if (emitted.btf && run.btf !== undefined) emitted.btf.bind(new BtfFd(run.btf));
    run.release();
    for (const w of run.warnings) settings.warn(w);
    for (const r of recording.regions) r.materialize(base);
    return new LoadedObject(state);
  } catch (e) {
    state?.abandon();
    throw e instanceof XError ? e.within({ object: spec.name }) : e;
  }
}

/** A failed run, reported as the direct load would report the same failure. */
function runError(s: LoadState, e: unknown): Error {
  if (!(e instanceof LoaderProgramError)) return e as Error;
  const step = e.stepInfo;
  if (e.code !== "LOADER_PROGRAM_STEP" || !step || e.errno === undefined) {
    if (/kernel ≥ 5\.14/.test(e.message)) return Object.assign(new UnsupportedFeatureError("loader_program", "5.14", "loader programs need BPF_PROG_TYPE_SYSCALL and bpf_sys_bpf()"), { cause: e });
    return new LoadError("LOAD_PROGRAM", `loader program of ${s.spec.name}: ${e.message}`, { object: s.spec.name, command: e.command, errnoName: e.errnoName, log: e.log }, { cause: e });
  }
  if (step.command !== undefined) {
    const sys = new BpfSyscallError(step.command, e.errno, e.log ? { log: e.log } : {});
    if (step.program) {
      const p = s.programs.find((x) => x.spec.name === step.program);
      if (p) return programLoadError(s, p, sys);
    }
    if (step.map) {
      const m = s.spec.maps.find((x) => x.name === step.map) ?? [...s.maps.values()].find((x) => x.spec.name === step.map)?.spec;
      if (m) return mapError(s, m, sys);
    }
    if (step.command === BpfCmd.BTF_LOAD) {
      return new LoadError("LOAD_BTF", `BTF: the kernel refused the object's BTF: ${sys.message}${e.log ? `\n${e.log.trimEnd().split("\n").slice(-3).join("\n")}` : ""}`, { object: s.spec.name, command: commandName(step.command), errnoName: sys.errnoName, log: e.log }, { cause: e });
    }
  }
  if (step.helper === "bpf_btf_find_by_name_kind" || step.helper === "bpf_kallsyms_lookup_name") {
    return new ObjectError("OBJECT_UNRESOLVED_EXTERN", `${step.what}: not found by the loader program on this kernel (${step.helper}: ${e.errnoName})`, { object: s.spec.name }, { cause: e });
  }
  return new LoadError(step.program ? "LOAD_PROGRAM" : "LOAD_MAP", `${step.what}: ${e.message}`, { object: s.spec.name, command: e.command, errnoName: e.errnoName, log: e.log }, { cause: e });
}

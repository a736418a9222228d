/** Load programs: each selected program with its type, attach target, func/line info and flags. */
import { AttachType, ProgFlags, ProgType } from "@x/sys/abi";
import { BpfSyscallError, type UnsupportedFeatureError } from "@x/sys";
import { explainProgramFailure } from "../../adapt.js";
import { LoadError } from "../../errors.js";
import { kernelObjectName } from "../../names.js";
import type { Phase } from "../phase.js";
import type { LoadState, ProgramState } from "../state.js";

export const loadPrograms: Phase = {
  name: "load programs",
  run(s) {
    for (const p of s.programs) p.fd = s.own(loadProgram(s, p));
  },
};

function loadProgram(s: LoadState, p: ProgramState) {
  const { spec } = s;
  const kind = p.spec.kind!;
  // libbpf (SEC_EXP_ATTACH_OPT): where the kernel predates expected_attach_type, load without it.
  const attachType = kind.attachTypeOptional && !s.features.has("exp_attach_type") ? undefined : kind.attachType;
  try {
    return s.kernel.loadProgram({
      type: kind.progType,
      insns: p.insns!,
      license: spec.license,
      name: s.features.has("prog_name") ? kernelObjectName(p.spec.name) : undefined,
      expectedAttachType: attachType,
      attachBtfId: kind.attachTarget !== undefined ? attachBtfId(s, p) : undefined,
      progBtfFd: s.btf && p.ext?.funcInfo ? s.btf.fd : undefined,
      ...p.ext,
      kernVersion: kind.progType === ProgType.KPROBE ? spec.kernVersion || s.kernel.version().code : spec.kernVersion,
      flags: (kind.sleepable ? ProgFlags.BPF_F_SLEEPABLE : 0) | (kind.frags ? ProgFlags.BPF_F_XDP_HAS_FRAGS : 0),
      logLevel: s.settings.logLevel,
    });
  } catch (e) {
    const sys = e instanceof BpfSyscallError ? e : undefined;
    const err = new LoadError("LOAD_PROGRAM", `program '${p.spec.name}' (${p.spec.section}): ${(e as Error).message}`, { object: spec.name, program: p.spec.name, section: p.spec.section, command: sys?.command, errnoName: sys?.errnoName, log: sys?.log }, { cause: e });
    if (!sys) throw err;
    // Only now (off the fast path): was it the program type or attach type this kernel lacks?
    let missing: UnsupportedFeatureError | undefined;
    try {
      missing = explainProgramFailure(p.spec.name, kind.progType, attachType, {
        progType: (t) => s.kernel.probeProgType(t),
        attachType: (t, a) => s.kernel.probeAttachType(t, a),
        kernel: () => s.kernel.version(),
      });
    } catch {
      // A probe that cannot tell explains nothing: the kernel's own answer stands.
    }
    if (!missing) throw err;
    missing.cause = err;
    throw missing;
  }
}

/** The kernel BTF id a tracing/LSM/iterator program attaches to, by libbpf's naming conventions. */
function attachBtfId(s: LoadState, p: ProgramState): number {
  const kind = p.spec.kind!;
  const target = kind.attachTarget!;
  const [name, btfKind] =
    kind.attachType === AttachType.TRACE_RAW_TP ? [`btf_trace_${target}`, "TYPEDEF" as const]
    : kind.progType === ProgType.LSM ? [`bpf_lsm_${target}`, "FUNC" as const]
    : kind.attachType === AttachType.TRACE_ITER ? [`bpf_iter_${target}`, "FUNC" as const]
    : [target, "FUNC" as const];
  const id = s.kernel.vmlinuxTypeId(name, btfKind);
  if (id === undefined) {
    throw new LoadError("LOAD_PROGRAM", `program '${p.spec.name}' (${p.spec.section}): the kernel's BTF has no ${btfKind} '${name}' to attach to`, { object: s.spec.name, program: p.spec.name, section: p.spec.section });
  }
  return id;
}

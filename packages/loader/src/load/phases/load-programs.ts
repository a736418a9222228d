/** Load programs: each selected program with its type, attach target, func/line info and flags. */
import { AttachType, ProgFlags, ProgType } from "@x/sys/abi";
import { isPseudoFunc, POISON_KFUNC_CALL_BASE } from "@x/reloc";
import { BpfSyscallError, FEATURES, UnsupportedFeatureError } from "@x/sys";
import { explainProgramFailure } from "../../adapt.js";
import type { Btf } from "@x/btf";
import { LoadError, ObjectError } from "../../errors.js";
import type { AttachTarget } from "../index.js";
import type { KernelFd } from "../kernel.js";
import { kernelObjectName } from "../../names.js";
import type { Phase } from "../phase.js";
import { sourceLineOf } from "../source-line.js";
import type { LoadState, ProgramState } from "../state.js";

export const loadPrograms: Phase = {
  name: "load programs",
  run(s) {
    for (const p of s.programs) {
      const fd = s.own(loadProgram(s, p));
      p.fd = fd;
      if (fd.log !== undefined) p.log = fd.log;
    }
  },
};

function loadProgram(s: LoadState, p: ProgramState) {
  const { spec } = s;
  const kind = p.spec.kind!;
  // libbpf (SEC_EXP_ATTACH_OPT): where the kernel predates expected_attach_type, load without it.
  const own = s.settings.programOptions[p.spec.name] ?? {};
  const target = own.attachTarget ? attachTargetOf(s, p, own.attachTarget) : undefined;
  const attachType = kind.attachTypeOptional && !s.features.has("exp_attach_type") ? undefined : kind.attachType;
  try {
    return s.kernel.loadProgram({
      type: kind.progType,
      insns: p.insns!,
      license: spec.license,
      name: s.features.has("prog_name") ? kernelObjectName(p.spec.name) : undefined,
      // A struct_ops program's expected attach type is the index of the member it implements.
      expectedAttachType: p.structOps ? p.structOps.expectedAttachType : attachType,
      attachBtfId: p.structOps ? p.structOps.attachBtfId : target ? target.btfId : kind.attachTarget !== undefined ? attachBtfId(s, p) : undefined,
      attachProgFd: target?.fd,
      progBtfFd: s.btf && p.ext?.funcInfo ? s.btf.fd : undefined,
      ...p.ext,
      kernVersion: kind.progType === ProgType.KPROBE ? spec.kernVersion || s.kernel.version().code : spec.kernVersion,
      flags: (kind.sleepable ? ProgFlags.BPF_F_SLEEPABLE : 0) | (kind.frags ? ProgFlags.BPF_F_XDP_HAS_FRAGS : 0) | (own.flags ?? 0),
      // libbpf passes the object's fd_array (module BTFs of kfuncs, index 0 unused) to every program.
      fdArray: s.fdArray.length ? [0, ...s.fdArray] : undefined,
      logLevel: own.logLevel ?? s.settings.logLevel,
    });
  } catch (e) {
    throw programLoadError(s, p, e);
  }
}

/**
 * What a failed `BPF_PROG_LOAD` of `p` means: a {@link LoadError} naming the program, with the
 * verifier's log explained where the loader knows why, or the kernel feature a probe shows missing.
 */
export function programLoadError(s: LoadState, p: ProgramState, e: unknown): Error {
  const { spec } = s;
  const kind = p.spec.kind!;
  const attachType = kind.attachTypeOptional && !s.features.has("exp_attach_type") ? undefined : kind.attachType;
  const sys = e instanceof BpfSyscallError ? e : undefined;
  const why = sys?.log ? explainLog(s, p, sys.log) : undefined;
  const err = new LoadError("LOAD_PROGRAM", `program '${p.spec.name}' (${p.spec.section}): ${why ? `${why}\n` : ""}${(e as Error).message}`, { object: spec.name, program: p.spec.name, section: p.spec.section, command: sys?.command, errnoName: sys?.errnoName, log: sys?.log }, { cause: e });
  if (!sys) return err;
  // Only now (off the fast path): was it the program type or attach type this kernel lacks?
  let missing: UnsupportedFeatureError | undefined;
  try {
    missing = explainExterns(s, p, sys.log ?? "") ?? explainCallbacks(p, sys.log ?? "") ?? explainProgramFailure(p.spec.name, kind.progType, attachType, {
      progType: (t) => s.kernel.probeProgType(t),
      attachType: (t, a) => s.kernel.probeAttachType(t, a),
      kernel: () => s.kernel.version(),
    });
  } catch {
    // A probe that cannot tell explains nothing: the kernel's own answer stands.
  }
  if (!missing) return err;
  missing.cause = err;
  return missing;
}

/**
 * What the verifier's last words mean when they are about what the loader patched: a call of helper
 * `195896080` (0xbad2310) is an instruction a failed CO-RE relocation poisoned, and a call of
 * `2002000000 + N` the weak kfunc extern #N that did not resolve (libbpf's `fixup_verifier_log` rewrites
 * the log the same way); a typed ksym with no address is a kernel without CONFIG_KALLSYMS_ALL.
 */
function explainLog(s: LoadState, p: ProgramState, log: string): string | undefined {
  const core = /(\d+): \(85\) call unknown#195896080\s*\ninvalid func unknown#195896080/.exec(log);
  if (core) {
    const insn = Number(core[1]);
    // From the object's line_info: not every kernel prints the source line of each instruction in its log.
    const source = sourceLineOf(s.spec, p, insn);
    const what = p.corePoisons?.get(insn) ?? "a CO-RE relocation failed";
    return `insn ${insn}: ${what}${source ? ` (${source})` : ""}; guard the access with bpf_core_field_exists() or bpf_core_type_exists() if it may be missing`;
  }
  const addr = /ldimm64 failed to find the address for kernel symbol '([^']+)'/.exec(log);
  if (addr) {
    return `typed ksym '${addr[1]}' is in the kernel's BTF but has no address in /proc/kallsyms: typed ksyms of variables need a kernel built with CONFIG_KALLSYMS_ALL`;
  }
  const m = /(\d+): \(85\) call unknown#(\d+)\s*\ninvalid func unknown#\2/.exec(log);
  if (!m) return undefined;
  const e = s.spec.externs[Number(m[2]) - POISON_KFUNC_CALL_BASE];
  if (!e) return undefined;
  const source = sourceLineOf(s.spec, p, Number(m[1]));
  return `insn ${m[1]}: kfunc '${e.name}' is referenced but wasn't resolved (it is __weak and this kernel does not have it)${source ? ` (${source})` : ""}: guard the call with bpf_ksym_exists(${e.name})`;
}

/**
 * A program passing a function's address (a callback: bpf_loop, bpf_for_each_map_elem, timers) to a
 * kernel that does not know such an ld_imm64 (BPF_PSEUDO_FUNC, Linux 5.13). Its verifier says so, or,
 * finding subprograms by their calls only, counts fewer of them than the func_info has.
 */
function explainCallbacks(p: ProgramState, log: string): UnsupportedFeatureError | undefined {
  if (!/unrecognized bpf_ld_imm64 insn|number of funcs in func_info doesn't match number of subprogs/.test(log)) return undefined;
  if (!p.linked.insns.some(isPseudoFunc)) return undefined;
  return new UnsupportedFeatureError("bpf_pseudo_func", "5.13", `program '${p.spec.name}' passes the address of one of its functions (a callback), an ld_imm64 of BPF_PSEUDO_FUNC this kernel does not know`);
}

/**
 * A program using kfuncs or typed ksyms that the kernel refused: does it lack them altogether?
 * (Kfunc calls by BTF id, Linux 5.13 for some program types and 6.2 for all; typed ksyms, 5.10.)
 */
function explainExterns(s: LoadState, p: ProgramState, log: string): UnsupportedFeatureError | undefined {
  for (const r of p.linked.relocations) {
    if (r.kind !== "extern-call" && r.kind !== "extern-ld64") continue;
    const name = r.externName ?? r.symbol;
    if (s.externs.get(name)?.kind !== "btf") continue;
    const kfunc = r.kind === "extern-call";
    // Only when the verifier's complaint is about the instruction kind itself, not about the program's logic.
    if (!(kfunc ? /kernel function|kfunc|reserved fields|unknown opcode/ : /ld_?imm64|pseudo_btf_id/).test(log)) continue;
    const feature = kfunc ? "kfunc_call" : "typed_ksym";
    if (s.features.probe(feature)) continue;
    const f = FEATURES[feature];
    return new UnsupportedFeatureError(feature, f.minKernel, `program '${p.spec.name}' ${kfunc ? "calls kfunc" : "uses typed ksym"} '${name}': ${f.description}`);
  }
  return undefined;
}

/**
 * The BPF program and the function of it a program is loaded against (freplace, or fentry/fexit on a
 * BPF program): the target's fd, and the FUNC's id in the BTF the kernel holds for it (libbpf
 * `libbpf_find_prog_btf_id`).
 */
function attachTargetOf(s: LoadState, p: ProgramState, t: AttachTarget): { fd: KernelFd; btfId: number } {
  const where = { object: s.spec.name, program: p.spec.name, section: p.spec.section };
  const what = `program '${p.spec.name}' (${p.spec.section})`;
  const fn = t.function ?? p.spec.kind!.attachTarget;
  if (!fn) throw new ObjectError("OBJECT_BAD_ATTACH_TARGET", `${what}: which function of the target program? Name it in the section (${p.spec.section}/NAME) or as attachTarget.function`, where);
  let fd: KernelFd;
  let btf: Btf | undefined;
  try {
    fd = typeof t.program === "object" ? t.program : s.own(s.kernel.openProgram(t.program));
    btf = s.kernel.programBtf(fd);
  } catch (e) {
    throw new ObjectError("OBJECT_BAD_ATTACH_TARGET", `${what}: target program ${typeof t.program === "object" ? `fd ${t.program.fd}` : t.program}: ${(e as Error).message}`, where, { cause: e });
  }
  if (!btf) throw new ObjectError("OBJECT_BAD_ATTACH_TARGET", `${what}: the target program has no BTF, so its functions cannot be found (load it with its object's BTF)`, where);
  const btfId = btf.idsByName(fn).find((id) => btf.type(id).kind === "FUNC");
  if (btfId === undefined) {
    const funcs = btf.types.flatMap((x) => (x.kind === "FUNC" ? [x.name] : []));
    throw new ObjectError("OBJECT_BAD_ATTACH_TARGET", `${what}: the target program has no function '${fn}' (its functions: ${funcs.join(", ") || "none"})`, where);
  }
  return { fd, btfId };
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

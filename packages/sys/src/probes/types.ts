/**
 * Parameterised probes: can this kernel load a program of a given type, and with a given expected
 * attach type? Errors mean what they mean for the feature probes (`classifyProbeError`). A
 * `supported` or `missing` answer is cached per argument for the process; an `unknown` one is not.
 * Some combinations cannot be probed without a real attach target (tracing, LSM, freplace,
 * struct_ops need a BTF id) or are not checked by the kernel at load time: for those the answer is
 * `unknown`, never a guess.
 *
 * @packageDocumentation
 */
import { asm, encodeInstructions } from "@x/reloc";
import { AttachType, ProgFlags, ProgType } from "../abi/consts.js";
import { BpfSyscallError } from "../errors.js";
import { progLoad } from "../prog.js";
import { LE } from "../util.js";
import { kernelVersion } from "./kernel-version.js";
import { runProbe, type ProbeOutcome, type ProbeStatus } from "./outcome.js";

export type { ProbeStatus };

/** Outcome of a parameterised probe. */
export interface TypeProbeResult extends ProbeOutcome {
  /** `prog_type SK_LOOKUP` or `attach_type CGROUP_INET4_BIND (CGROUP_SOCK_ADDR)`. */
  name: string;
  /** Kernel version that introduced it (upstream; "?" when unknown). */
  minKernel: string;
  /** What it is, in words. */
  description: string;
  /** `status === "supported"`. */
  supported: boolean;
}

type ProgTypeName = keyof typeof ProgType;
type AttachTypeName = keyof typeof AttachType;

/** Kernel version that introduced each program type (upstream). */
export const PROG_TYPE_MIN_KERNEL: Readonly<Record<ProgTypeName, string>> = {
  UNSPEC: "?", SOCKET_FILTER: "3.19", KPROBE: "4.1", SCHED_CLS: "4.1", SCHED_ACT: "4.1", TRACEPOINT: "4.7", XDP: "4.8",
  PERF_EVENT: "4.9", CGROUP_SKB: "4.10", CGROUP_SOCK: "4.10", LWT_IN: "4.10", LWT_OUT: "4.10", LWT_XMIT: "4.10",
  SOCK_OPS: "4.13", SK_SKB: "4.14", CGROUP_DEVICE: "4.15", SK_MSG: "4.17", RAW_TRACEPOINT: "4.17", CGROUP_SOCK_ADDR: "4.17",
  LWT_SEG6LOCAL: "4.18", LIRC_MODE2: "4.18", SK_REUSEPORT: "4.19", FLOW_DISSECTOR: "4.20", CGROUP_SYSCTL: "5.2",
  RAW_TRACEPOINT_WRITABLE: "5.2", CGROUP_SOCKOPT: "5.3", TRACING: "5.5", STRUCT_OPS: "5.6", EXT: "5.6", LSM: "5.7",
  SK_LOOKUP: "5.9", SYSCALL: "5.14", NETFILTER: "6.4",
};

/** Kernel version that introduced each attach type (upstream). */
export const ATTACH_TYPE_MIN_KERNEL: Readonly<Record<AttachTypeName, string>> = {
  CGROUP_INET_INGRESS: "4.10", CGROUP_INET_EGRESS: "4.10", CGROUP_INET_SOCK_CREATE: "4.10", CGROUP_SOCK_OPS: "4.13",
  SK_SKB_STREAM_PARSER: "4.14", SK_SKB_STREAM_VERDICT: "4.14", CGROUP_DEVICE: "4.15", SK_MSG_VERDICT: "4.17",
  CGROUP_INET4_BIND: "4.17", CGROUP_INET6_BIND: "4.17", CGROUP_INET4_CONNECT: "4.17", CGROUP_INET6_CONNECT: "4.17",
  CGROUP_INET4_POST_BIND: "4.17", CGROUP_INET6_POST_BIND: "4.17", CGROUP_UDP4_SENDMSG: "4.18", CGROUP_UDP6_SENDMSG: "4.18",
  LIRC_MODE2: "4.18", FLOW_DISSECTOR: "4.20", CGROUP_SYSCTL: "5.2", CGROUP_UDP4_RECVMSG: "5.2", CGROUP_UDP6_RECVMSG: "5.2",
  CGROUP_GETSOCKOPT: "5.3", CGROUP_SETSOCKOPT: "5.3", TRACE_RAW_TP: "5.5", TRACE_FENTRY: "5.5", TRACE_FEXIT: "5.5",
  MODIFY_RETURN: "5.7", LSM_MAC: "5.7", TRACE_ITER: "5.8", CGROUP_INET4_GETPEERNAME: "5.8", CGROUP_INET6_GETPEERNAME: "5.8",
  CGROUP_INET4_GETSOCKNAME: "5.8", CGROUP_INET6_GETSOCKNAME: "5.8", XDP_DEVMAP: "5.8", CGROUP_INET_SOCK_RELEASE: "5.9",
  XDP_CPUMAP: "5.9", SK_LOOKUP: "5.9", XDP: "5.9", SK_SKB_VERDICT: "5.13", SK_REUSEPORT_SELECT: "5.14",
  SK_REUSEPORT_SELECT_OR_MIGRATE: "5.14", PERF_EVENT: "5.15", TRACE_KPROBE_MULTI: "5.18", LSM_CGROUP: "6.0",
  STRUCT_OPS: "6.4", NETFILTER: "6.4", TCX_INGRESS: "6.6", TCX_EGRESS: "6.6", TRACE_UPROBE_MULTI: "6.6",
  CGROUP_UNIX_CONNECT: "6.7", CGROUP_UNIX_SENDMSG: "6.7", CGROUP_UNIX_RECVMSG: "6.7", CGROUP_UNIX_GETPEERNAME: "6.7",
  CGROUP_UNIX_GETSOCKNAME: "6.7", NETKIT_PRIMARY: "6.7", NETKIT_PEER: "6.7", TRACE_KPROBE_SESSION: "6.10",
  TRACE_UPROBE_SESSION: "6.13",
};

/** Program types that cannot load without an attach target's BTF id: the kernel knowing them shows only in the verifier log. */
const NEEDS_BTF_ID: ReadonlySet<ProgTypeName> = new Set(["TRACING", "EXT", "LSM", "STRUCT_OPS"]);

/** The expected attach type a program type needs just to load (attach type 0 is not valid for these). */
const LOAD_ATTACH: Partial<Record<ProgTypeName, AttachTypeName>> = {
  CGROUP_SOCK_ADDR: "CGROUP_INET4_CONNECT",
  CGROUP_SOCKOPT: "CGROUP_GETSOCKOPT",
  SK_LOOKUP: "SK_LOOKUP",
  NETFILTER: "NETFILTER",
  TRACING: "TRACE_FENTRY",
  LSM: "LSM_MAC",
};

/**
 * Program types whose expected attach type the kernel has checked at load since the type itself
 * appeared, so a refused attach type really is unknown to the kernel. Other types ignored it on
 * some kernels (a load would succeed and prove nothing).
 */
const CHECKS_ATTACH_AT_LOAD: ReadonlySet<ProgTypeName> = new Set(["CGROUP_SOCK_ADDR", "CGROUP_SOCKOPT", "SK_LOOKUP", "NETFILTER"]);

const progCache = new Map<number, TypeProbeResult>();
const attachCache = new Map<string, TypeProbeResult>();

const nameOf = <T extends Record<string, number>>(table: T, v: number): (keyof T & string) | undefined =>
  (Object.keys(table) as (keyof T & string)[]).find((k) => table[k] === v);

function result(name: string, minKernel: string, description: string, outcome: ProbeOutcome): TypeProbeResult {
  return { name, minKernel, description, ...outcome, supported: outcome.status === "supported" };
}

/**
 * Load `mov r0, 0; exit` as `type`. A load that got as far as the verifier (a log) shows the kernel
 * knows the type and attach type, whatever the verifier thought of the code; other errors mean what
 * `classifyProbeError` says, except for the types that need an attach target's BTF id (`btfIdType`),
 * where a failure before the verifier cannot tell the type from the missing target.
 */
function tryLoad(type: number, expectedAttachType: number | undefined, btfIdType: boolean): ProbeOutcome {
  const name = nameOf(ProgType, type);
  let verifierRan = false;
  const outcome = runProbe(() => {
    try {
      progLoad({
        type,
        insns: encodeInstructions([asm.mov64Imm(0, 0), asm.exit()], LE),
        license: "GPL",
        expectedAttachType,
        kernVersion: name === "KPROBE" ? kernelVersion().code : 0,
        flags: name === "SYSCALL" ? ProgFlags.BPF_F_SLEEPABLE : 0,
      }).close();
    } catch (e) {
      verifierRan = e instanceof BpfSyscallError && !!e.log?.trim();
      throw e;
    }
  });
  if (outcome.status === "supported") return outcome;
  // The verifier ran: the kernel took the type and attach type, and refused only the probe's code (as
  // the hooks whose programs must return 1, cgroup recvmsg/getpeername/getsockname, refuse `r0 = 0`).
  if (verifierRan) return { status: "supported" };
  if (!btfIdType) return outcome;
  return outcome.status === "missing" ? { ...outcome, status: "unknown" } : outcome;
}

/**
 * Can this kernel load programs of type `type` (a `ProgType` value)? Cached per type (not when `unknown`).
 * `unknown` for types that need an attach target and whose load left no verifier log.
 */
export function probeProgType(type: number): TypeProbeResult {
  const hit = progCache.get(type);
  if (hit) return hit;
  const name = nameOf(ProgType, type);
  let r: TypeProbeResult;
  if (!name || name === "UNSPEC") {
    r = result(`prog_type ${name ?? type}`, "?", `program type ${name ?? type}`, { status: "unknown", error: "not a program type @x knows" });
  } else {
    const attach = LOAD_ATTACH[name];
    const outcome = tryLoad(type, attach ? AttachType[attach] : undefined, NEEDS_BTF_ID.has(name));
    r = result(`prog_type ${name}`, PROG_TYPE_MIN_KERNEL[name], `program type ${name}`, outcome);
  }
  if (r.status !== "unknown") progCache.set(type, r);
  return r;
}

/**
 * Can this kernel load a program of type `progType` with expected attach type `attachType`?
 * Cached per pair (not when `unknown`). `unknown` where a load cannot tell (see the module notes): the answer then
 * falls back to the program type's when the attach type is no newer than the program type.
 */
export function probeAttachType(progType: number, attachType: number): TypeProbeResult {
  const key = `${progType}/${attachType}`;
  const hit = attachCache.get(key);
  if (hit) return hit;
  const pName = nameOf(ProgType, progType);
  const aName = nameOf(AttachType, attachType);
  const label = `attach_type ${aName ?? attachType} (${pName ?? progType})`;
  const minKernel = aName ? ATTACH_TYPE_MIN_KERNEL[aName] : "?";
  const description = `expected attach type ${aName ?? attachType} for program type ${pName ?? progType}`;
  let r: TypeProbeResult;
  if (!pName || !aName) {
    r = result(label, minKernel, description, { status: "unknown", error: "not a program or attach type @x knows" });
  } else {
    const prog = probeProgType(progType);
    if (prog.status === "missing") {
      r = result(label, minKernel, description, { ...outcomeOf(prog), error: `program type ${pName} is missing` });
    } else if (CHECKS_ATTACH_AT_LOAD.has(pName)) {
      r = result(label, minKernel, description, tryLoad(progType, attachType, false));
    } else if (!versionAfter(minKernel, PROG_TYPE_MIN_KERNEL[pName])) {
      r = result(label, minKernel, description, outcomeOf(prog));
    } else {
      r = result(label, minKernel, description, { status: "unknown", error: `the kernel does not check ${pName}'s attach type at load on every version` });
    }
  }
  if (r.status !== "unknown") attachCache.set(key, r);
  return r;
}

/** The answer part of a result (status, errno, error), to answer for something else with it. */
function outcomeOf(r: ProbeOutcome): ProbeOutcome {
  return { status: r.status, ...(r.errno ? { errno: r.errno } : {}), ...(r.error ? { error: r.error } : {}) };
}

function versionAfter(a: string, b: string): boolean {
  const pa = a.split(".").map(Number), pb = b.split(".").map(Number);
  if (pa.some(Number.isNaN) || pb.some(Number.isNaN)) return true;
  return pa[0]! - pb[0]! > 0 || (pa[0] === pb[0] && pa[1]! - pb[1]! > 0);
}

/** {@link probeProgType} for every program type @x knows (UNSPEC left out). */
export function probeProgTypes(): TypeProbeResult[] {
  return Object.values(ProgType).filter((t) => t !== ProgType.UNSPEC).map(probeProgType);
}

/**
 * Program type and expected attach type from an ELF section name, following libbpf's
 * `section_defs` conventions (names are the kernel's enum names without their prefixes).
 */

/** How a section name is matched: exact, exact-or-`/extras` (`+` in libbpf), or prefix (`/` in libbpf). */
type Match = "exact" | "plus" | "prefix";

interface SectionDef {
  readonly sec: string;
  readonly match: Match;
  /** `enum bpf_prog_type` name without `BPF_PROG_TYPE_`. */
  readonly progType: string;
  /** `enum bpf_attach_type` name without `BPF_`, when the kernel wants it at load time. */
  readonly attachType?: string;
  /** The attach type may be dropped on kernels that do not know expected_attach_type for this type (libbpf SEC_ATTACHABLE_OPT). */
  readonly attachTypeOptional?: boolean;
  readonly sleepable?: boolean;
  /** XDP program that handles multi-buffer packets (BPF_F_XDP_HAS_FRAGS). */
  readonly frags?: boolean;
  /** The attach target is a BTF id resolved from the section's extras (fentry/fexit/tp_btf/lsm). */
  readonly attachBtf?: boolean;
  /** Not supported by this loader yet: the reason. */
  readonly unsupported?: string;
}

const d = (sec: string, match: Match, progType: string, extra: Partial<SectionDef> = {}): SectionDef => ({ sec, match, progType, ...extra });

// Order matters: the first match wins, so longer names come before their prefixes.
const DEFS: readonly SectionDef[] = [
  d("socket", "plus", "SOCKET_FILTER"),
  d("sk_reuseport/migrate", "exact", "SK_REUSEPORT", { attachType: "SK_REUSEPORT_SELECT_OR_MIGRATE" }),
  d("sk_reuseport", "exact", "SK_REUSEPORT", { attachType: "SK_REUSEPORT_SELECT" }),
  d("kprobe", "plus", "KPROBE"),
  d("uprobe", "plus", "KPROBE"),
  d("uprobe.s", "plus", "KPROBE", { sleepable: true }),
  d("kretprobe", "plus", "KPROBE"),
  d("uretprobe", "plus", "KPROBE"),
  d("uretprobe.s", "plus", "KPROBE", { sleepable: true }),
  d("kprobe.multi", "plus", "KPROBE", { attachType: "TRACE_KPROBE_MULTI" }),
  d("kretprobe.multi", "plus", "KPROBE", { attachType: "TRACE_KPROBE_MULTI" }),
  d("ksyscall", "plus", "KPROBE"),
  d("kretsyscall", "plus", "KPROBE"),
  d("usdt", "plus", "KPROBE"),
  d("tc/ingress", "exact", "SCHED_CLS", { attachType: "TCX_INGRESS" }),
  d("tc/egress", "exact", "SCHED_CLS", { attachType: "TCX_EGRESS" }),
  d("tcx/ingress", "exact", "SCHED_CLS", { attachType: "TCX_INGRESS" }),
  d("tcx/egress", "exact", "SCHED_CLS", { attachType: "TCX_EGRESS" }),
  d("tc", "plus", "SCHED_CLS"),
  d("classifier", "plus", "SCHED_CLS"),
  d("action", "plus", "SCHED_ACT"),
  d("tracepoint", "plus", "TRACEPOINT"),
  d("tp", "plus", "TRACEPOINT"),
  d("raw_tracepoint", "plus", "RAW_TRACEPOINT"),
  d("raw_tp", "plus", "RAW_TRACEPOINT"),
  d("raw_tracepoint.w", "plus", "RAW_TRACEPOINT_WRITABLE"),
  d("raw_tp.w", "plus", "RAW_TRACEPOINT_WRITABLE"),
  d("tp_btf", "plus", "TRACING", { attachType: "TRACE_RAW_TP", attachBtf: true }),
  d("fentry", "plus", "TRACING", { attachType: "TRACE_FENTRY", attachBtf: true }),
  d("fmod_ret", "plus", "TRACING", { attachType: "MODIFY_RETURN", attachBtf: true }),
  d("fexit", "plus", "TRACING", { attachType: "TRACE_FEXIT", attachBtf: true }),
  d("fentry.s", "plus", "TRACING", { attachType: "TRACE_FENTRY", attachBtf: true, sleepable: true }),
  d("fmod_ret.s", "plus", "TRACING", { attachType: "MODIFY_RETURN", attachBtf: true, sleepable: true }),
  d("fexit.s", "plus", "TRACING", { attachType: "TRACE_FEXIT", attachBtf: true, sleepable: true }),
  d("freplace", "plus", "EXT", { attachBtf: true, unsupported: "freplace programs need a target program" }),
  d("lsm", "plus", "LSM", { attachType: "LSM_MAC", attachBtf: true }),
  d("lsm.s", "plus", "LSM", { attachType: "LSM_MAC", attachBtf: true, sleepable: true }),
  d("lsm_cgroup", "plus", "LSM", { attachType: "LSM_CGROUP", attachBtf: true }),
  d("iter", "plus", "TRACING", { attachType: "TRACE_ITER", attachBtf: true }),
  d("iter.s", "plus", "TRACING", { attachType: "TRACE_ITER", attachBtf: true, sleepable: true }),
  d("syscall", "exact", "SYSCALL", { sleepable: true }),
  d("xdp.frags/devmap", "exact", "XDP", { attachType: "XDP_DEVMAP", frags: true }),
  d("xdp/devmap", "exact", "XDP", { attachType: "XDP_DEVMAP", attachTypeOptional: true }),
  d("xdp.frags/cpumap", "exact", "XDP", { attachType: "XDP_CPUMAP", frags: true }),
  d("xdp/cpumap", "exact", "XDP", { attachType: "XDP_CPUMAP", attachTypeOptional: true }),
  d("xdp.frags", "exact", "XDP", { attachType: "XDP", frags: true }),
  d("xdp", "plus", "XDP", { attachType: "XDP", attachTypeOptional: true }),
  d("perf_event", "plus", "PERF_EVENT"),
  d("lwt_in", "plus", "LWT_IN"),
  d("lwt_out", "plus", "LWT_OUT"),
  d("lwt_xmit", "plus", "LWT_XMIT"),
  d("lwt_seg6local", "plus", "LWT_SEG6LOCAL"),
  d("sockops", "plus", "SOCK_OPS", { attachType: "CGROUP_SOCK_OPS", attachTypeOptional: true }),
  d("sk_skb/stream_parser", "plus", "SK_SKB", { attachType: "SK_SKB_STREAM_PARSER", attachTypeOptional: true }),
  d("sk_skb/stream_verdict", "plus", "SK_SKB", { attachType: "SK_SKB_STREAM_VERDICT", attachTypeOptional: true }),
  d("sk_skb/verdict", "plus", "SK_SKB", { attachType: "SK_SKB_VERDICT" }),
  d("sk_skb", "plus", "SK_SKB"),
  d("sk_msg", "plus", "SK_MSG", { attachType: "SK_MSG_VERDICT", attachTypeOptional: true }),
  d("lirc_mode2", "plus", "LIRC_MODE2", { attachType: "LIRC_MODE2", attachTypeOptional: true }),
  d("flow_dissector", "plus", "FLOW_DISSECTOR", { attachType: "FLOW_DISSECTOR", attachTypeOptional: true }),
  d("cgroup_skb/ingress", "plus", "CGROUP_SKB", { attachType: "CGROUP_INET_INGRESS", attachTypeOptional: true }),
  d("cgroup_skb/egress", "plus", "CGROUP_SKB", { attachType: "CGROUP_INET_EGRESS", attachTypeOptional: true }),
  d("cgroup/skb", "plus", "CGROUP_SKB"),
  d("cgroup/sock_create", "plus", "CGROUP_SOCK", { attachType: "CGROUP_INET_SOCK_CREATE" }),
  d("cgroup/sock_release", "plus", "CGROUP_SOCK", { attachType: "CGROUP_INET_SOCK_RELEASE" }),
  d("cgroup/sock", "plus", "CGROUP_SOCK", { attachType: "CGROUP_INET_SOCK_CREATE", attachTypeOptional: true }),
  d("cgroup/post_bind4", "plus", "CGROUP_SOCK", { attachType: "CGROUP_INET4_POST_BIND" }),
  d("cgroup/post_bind6", "plus", "CGROUP_SOCK", { attachType: "CGROUP_INET6_POST_BIND" }),
  d("cgroup/bind4", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_INET4_BIND" }),
  d("cgroup/bind6", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_INET6_BIND" }),
  d("cgroup/connect4", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_INET4_CONNECT" }),
  d("cgroup/connect6", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_INET6_CONNECT" }),
  d("cgroup/sendmsg4", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_UDP4_SENDMSG" }),
  d("cgroup/sendmsg6", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_UDP6_SENDMSG" }),
  d("cgroup/recvmsg4", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_UDP4_RECVMSG" }),
  d("cgroup/recvmsg6", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_UDP6_RECVMSG" }),
  d("cgroup/getpeername4", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_INET4_GETPEERNAME" }),
  d("cgroup/getpeername6", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_INET6_GETPEERNAME" }),
  d("cgroup/getsockname4", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_INET4_GETSOCKNAME" }),
  d("cgroup/getsockname6", "plus", "CGROUP_SOCK_ADDR", { attachType: "CGROUP_INET6_GETSOCKNAME" }),
  d("cgroup/sysctl", "plus", "CGROUP_SYSCTL", { attachType: "CGROUP_SYSCTL" }),
  d("cgroup/getsockopt", "plus", "CGROUP_SOCKOPT", { attachType: "CGROUP_GETSOCKOPT" }),
  d("cgroup/setsockopt", "plus", "CGROUP_SOCKOPT", { attachType: "CGROUP_SETSOCKOPT" }),
  d("cgroup/dev", "plus", "CGROUP_DEVICE", { attachType: "CGROUP_DEVICE", attachTypeOptional: true }),
  d("struct_ops", "plus", "STRUCT_OPS", { unsupported: "struct_ops programs are not supported yet" }),
  d("struct_ops.s", "plus", "STRUCT_OPS", { sleepable: true, unsupported: "struct_ops programs are not supported yet" }),
  d("sk_lookup", "exact", "SK_LOOKUP", { attachType: "SK_LOOKUP" }),
  d("netfilter", "exact", "NETFILTER", { attachType: "NETFILTER" }),
];

/** What a section name says about the programs in it. */
export interface ProgramKind {
  /** Section name without a leading `?`. */
  readonly section: string;
  /** Program type name (`enum bpf_prog_type` without `BPF_PROG_TYPE_`), e.g. `SCHED_CLS`. */
  readonly progType: string;
  /** Expected attach type name (`enum bpf_attach_type` without `BPF_`), if any. */
  readonly attachType?: string;
  readonly attachTypeOptional: boolean;
  readonly sleepable: boolean;
  /** Loaded with BPF_F_XDP_HAS_FRAGS. */
  readonly frags: boolean;
  /** For BTF-attached programs: the target name after the `/` (e.g. the function for `fentry/do_unlinkat`). */
  readonly attachTarget?: string;
  /** False for `?`-prefixed sections (libbpf: not loaded unless asked for). */
  readonly autoload: boolean;
  /** Why the loader cannot load this program, if it cannot. */
  readonly unsupported?: string;
}

function matches(def: SectionDef, name: string): boolean {
  if (def.match === "exact") return name === def.sec;
  if (def.match === "plus") return name === def.sec || name.startsWith(def.sec + "/");
  return name.startsWith(def.sec);
}

/** Resolve a program's type from its section name, or undefined when no convention matches. */
export function programKindOf(sectionName: string): ProgramKind | undefined {
  const autoload = !sectionName.startsWith("?");
  const section = autoload ? sectionName : sectionName.slice(1);
  // Longest matching definition wins, so `xdp.frags` beats `xdp` and `fentry.s` beats `fentry`.
  let best: SectionDef | undefined;
  for (const def of DEFS) if (matches(def, section) && (!best || def.sec.length > best.sec.length)) best = def;
  if (!best) return undefined;
  const slash = section.indexOf("/", best.sec.length);
  return {
    section,
    progType: best.progType,
    attachType: best.attachType,
    attachTypeOptional: best.attachTypeOptional ?? false,
    sleepable: best.sleepable ?? false,
    frags: best.frags ?? false,
    attachTarget: best.attachBtf && slash >= 0 ? section.slice(slash + 1) : undefined,
    autoload,
    unsupported: best.unsupported,
  };
}

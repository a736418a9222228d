// Generated file: do not edit. Regenerate with `node tools/gen-section-defs.mjs` (`pnpm gen:sections`).
// Source: section_defs[] (line 9422) of linux-source-6.12/tools/lib/bpf/libbpf.c
// in /usr/src/linux-source-6.12.tar.xz (Debian's linux-source-6.12, libbpf 1.5),
// libbpf.c sha256 4204644d766e636491b258ce3bee070ba7c80737703a09a2a00b4f569d11e599.
// packages/loader/test/section-defs.generated.test.ts fails when this file differs from the generator's output.
/**
 * libbpf's table of ELF section name conventions (`section_defs[]` in libbpf.c), entry for entry
 * and in libbpf's order: libbpf takes the first entry that matches, and so must we.
 * Interpreted by `section-defs.ts`.
 *
 * @packageDocumentation
 */
import { AttachType, ProgType, type AttachTypeValue, type ProgTypeValue } from "@x/sys/abi";

/** libbpf's `enum sec_def_flags` (each definition's cookie), without the `SEC_` prefix. */
export const SecFlag = {
  /** No flag. */
  NONE: 0,
  /** expected_attach_type is dropped on kernels that do not support it (libbpf: FEAT_EXP_ATTACH_TYPE). */
  EXP_ATTACH_OPT: 1,
  /** Legacy marker of BPF_PROG_ATTACH-attachable types; libbpf itself does not use it. */
  ATTACHABLE: 2,
  /** ATTACHABLE | EXP_ATTACH_OPT. */
  ATTACHABLE_OPT: 3,
  /** The attach target is a BTF id, named after the first `/` of the section name. */
  ATTACH_BTF: 4,
  /** Loaded with BPF_F_SLEEPABLE. */
  SLEEPABLE: 8,
  /** XDP program loaded with BPF_F_XDP_HAS_FRAGS. */
  XDP_FRAGS: 16,
  /** USDT: libbpf loads it with expected attach type TRACE_UPROBE_MULTI when the kernel has uprobe_multi links. */
  USDT: 32,
} as const;

/** The attach function libbpf names for a definition (`prog_attach_fn`), for auto-attach. */
export type LibbpfAttachHandler =
  | "attach_iter"
  | "attach_kprobe"
  | "attach_kprobe_multi"
  | "attach_kprobe_session"
  | "attach_ksyscall"
  | "attach_lsm"
  | "attach_raw_tp"
  | "attach_tp"
  | "attach_trace"
  | "attach_uprobe"
  | "attach_uprobe_multi"
  | "attach_usdt";

/** One entry of libbpf's `section_defs[]`. */
export interface LibbpfSectionDef {
  /** The section as libbpf writes it: a trailing `+` or `/` is the match marker (see `section-defs.ts`). */
  readonly sec: string;
  /** `enum bpf_prog_type`. */
  readonly progType: ProgTypeValue;
  /** `enum bpf_attach_type`, when libbpf sets one (libbpf writes 0 for none). */
  readonly attachType?: AttachTypeValue;
  /** {@link SecFlag} bits. */
  readonly flags: number;
  /** libbpf's attach function, when it can attach these programs by itself. */
  readonly attach?: LibbpfAttachHandler;
}

/** libbpf's `section_defs[]`: 101 definitions, in libbpf's order. */
export const LIBBPF_SECTION_DEFS: readonly LibbpfSectionDef[] = [
  { sec: "socket", progType: ProgType.SOCKET_FILTER, flags: SecFlag.NONE },
  { sec: "sk_reuseport/migrate", progType: ProgType.SK_REUSEPORT, attachType: AttachType.SK_REUSEPORT_SELECT_OR_MIGRATE, flags: SecFlag.ATTACHABLE },
  { sec: "sk_reuseport", progType: ProgType.SK_REUSEPORT, attachType: AttachType.SK_REUSEPORT_SELECT, flags: SecFlag.ATTACHABLE },
  { sec: "kprobe+", progType: ProgType.KPROBE, flags: SecFlag.NONE, attach: "attach_kprobe" },
  { sec: "uprobe+", progType: ProgType.KPROBE, flags: SecFlag.NONE, attach: "attach_uprobe" },
  { sec: "uprobe.s+", progType: ProgType.KPROBE, flags: SecFlag.SLEEPABLE, attach: "attach_uprobe" },
  { sec: "kretprobe+", progType: ProgType.KPROBE, flags: SecFlag.NONE, attach: "attach_kprobe" },
  { sec: "uretprobe+", progType: ProgType.KPROBE, flags: SecFlag.NONE, attach: "attach_uprobe" },
  { sec: "uretprobe.s+", progType: ProgType.KPROBE, flags: SecFlag.SLEEPABLE, attach: "attach_uprobe" },
  { sec: "kprobe.multi+", progType: ProgType.KPROBE, attachType: AttachType.TRACE_KPROBE_MULTI, flags: SecFlag.NONE, attach: "attach_kprobe_multi" },
  { sec: "kretprobe.multi+", progType: ProgType.KPROBE, attachType: AttachType.TRACE_KPROBE_MULTI, flags: SecFlag.NONE, attach: "attach_kprobe_multi" },
  { sec: "kprobe.session+", progType: ProgType.KPROBE, attachType: AttachType.TRACE_KPROBE_SESSION, flags: SecFlag.NONE, attach: "attach_kprobe_session" },
  { sec: "uprobe.multi+", progType: ProgType.KPROBE, attachType: AttachType.TRACE_UPROBE_MULTI, flags: SecFlag.NONE, attach: "attach_uprobe_multi" },
  { sec: "uretprobe.multi+", progType: ProgType.KPROBE, attachType: AttachType.TRACE_UPROBE_MULTI, flags: SecFlag.NONE, attach: "attach_uprobe_multi" },
  { sec: "uprobe.multi.s+", progType: ProgType.KPROBE, attachType: AttachType.TRACE_UPROBE_MULTI, flags: SecFlag.SLEEPABLE, attach: "attach_uprobe_multi" },
  { sec: "uretprobe.multi.s+", progType: ProgType.KPROBE, attachType: AttachType.TRACE_UPROBE_MULTI, flags: SecFlag.SLEEPABLE, attach: "attach_uprobe_multi" },
  { sec: "ksyscall+", progType: ProgType.KPROBE, flags: SecFlag.NONE, attach: "attach_ksyscall" },
  { sec: "kretsyscall+", progType: ProgType.KPROBE, flags: SecFlag.NONE, attach: "attach_ksyscall" },
  { sec: "usdt+", progType: ProgType.KPROBE, flags: SecFlag.USDT, attach: "attach_usdt" },
  { sec: "usdt.s+", progType: ProgType.KPROBE, flags: SecFlag.USDT | SecFlag.SLEEPABLE, attach: "attach_usdt" },
  { sec: "tc/ingress", progType: ProgType.SCHED_CLS, attachType: AttachType.TCX_INGRESS, flags: SecFlag.NONE },
  { sec: "tc/egress", progType: ProgType.SCHED_CLS, attachType: AttachType.TCX_EGRESS, flags: SecFlag.NONE },
  { sec: "tcx/ingress", progType: ProgType.SCHED_CLS, attachType: AttachType.TCX_INGRESS, flags: SecFlag.NONE },
  { sec: "tcx/egress", progType: ProgType.SCHED_CLS, attachType: AttachType.TCX_EGRESS, flags: SecFlag.NONE },
  { sec: "tc", progType: ProgType.SCHED_CLS, flags: SecFlag.NONE },
  { sec: "classifier", progType: ProgType.SCHED_CLS, flags: SecFlag.NONE },
  { sec: "action", progType: ProgType.SCHED_ACT, flags: SecFlag.NONE },
  { sec: "netkit/primary", progType: ProgType.SCHED_CLS, attachType: AttachType.NETKIT_PRIMARY, flags: SecFlag.NONE },
  { sec: "netkit/peer", progType: ProgType.SCHED_CLS, attachType: AttachType.NETKIT_PEER, flags: SecFlag.NONE },
  { sec: "tracepoint+", progType: ProgType.TRACEPOINT, flags: SecFlag.NONE, attach: "attach_tp" },
  { sec: "tp+", progType: ProgType.TRACEPOINT, flags: SecFlag.NONE, attach: "attach_tp" },
  { sec: "raw_tracepoint+", progType: ProgType.RAW_TRACEPOINT, flags: SecFlag.NONE, attach: "attach_raw_tp" },
  { sec: "raw_tp+", progType: ProgType.RAW_TRACEPOINT, flags: SecFlag.NONE, attach: "attach_raw_tp" },
  { sec: "raw_tracepoint.w+", progType: ProgType.RAW_TRACEPOINT_WRITABLE, flags: SecFlag.NONE, attach: "attach_raw_tp" },
  { sec: "raw_tp.w+", progType: ProgType.RAW_TRACEPOINT_WRITABLE, flags: SecFlag.NONE, attach: "attach_raw_tp" },
  { sec: "tp_btf+", progType: ProgType.TRACING, attachType: AttachType.TRACE_RAW_TP, flags: SecFlag.ATTACH_BTF, attach: "attach_trace" },
  { sec: "fentry+", progType: ProgType.TRACING, attachType: AttachType.TRACE_FENTRY, flags: SecFlag.ATTACH_BTF, attach: "attach_trace" },
  { sec: "fmod_ret+", progType: ProgType.TRACING, attachType: AttachType.MODIFY_RETURN, flags: SecFlag.ATTACH_BTF, attach: "attach_trace" },
  { sec: "fexit+", progType: ProgType.TRACING, attachType: AttachType.TRACE_FEXIT, flags: SecFlag.ATTACH_BTF, attach: "attach_trace" },
  { sec: "fentry.s+", progType: ProgType.TRACING, attachType: AttachType.TRACE_FENTRY, flags: SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE, attach: "attach_trace" },
  { sec: "fmod_ret.s+", progType: ProgType.TRACING, attachType: AttachType.MODIFY_RETURN, flags: SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE, attach: "attach_trace" },
  { sec: "fexit.s+", progType: ProgType.TRACING, attachType: AttachType.TRACE_FEXIT, flags: SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE, attach: "attach_trace" },
  { sec: "freplace+", progType: ProgType.EXT, flags: SecFlag.ATTACH_BTF, attach: "attach_trace" },
  { sec: "lsm+", progType: ProgType.LSM, attachType: AttachType.LSM_MAC, flags: SecFlag.ATTACH_BTF, attach: "attach_lsm" },
  { sec: "lsm.s+", progType: ProgType.LSM, attachType: AttachType.LSM_MAC, flags: SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE, attach: "attach_lsm" },
  { sec: "lsm_cgroup+", progType: ProgType.LSM, attachType: AttachType.LSM_CGROUP, flags: SecFlag.ATTACH_BTF },
  { sec: "iter+", progType: ProgType.TRACING, attachType: AttachType.TRACE_ITER, flags: SecFlag.ATTACH_BTF, attach: "attach_iter" },
  { sec: "iter.s+", progType: ProgType.TRACING, attachType: AttachType.TRACE_ITER, flags: SecFlag.ATTACH_BTF | SecFlag.SLEEPABLE, attach: "attach_iter" },
  { sec: "syscall", progType: ProgType.SYSCALL, flags: SecFlag.SLEEPABLE },
  { sec: "xdp.frags/devmap", progType: ProgType.XDP, attachType: AttachType.XDP_DEVMAP, flags: SecFlag.XDP_FRAGS },
  { sec: "xdp/devmap", progType: ProgType.XDP, attachType: AttachType.XDP_DEVMAP, flags: SecFlag.ATTACHABLE },
  { sec: "xdp.frags/cpumap", progType: ProgType.XDP, attachType: AttachType.XDP_CPUMAP, flags: SecFlag.XDP_FRAGS },
  { sec: "xdp/cpumap", progType: ProgType.XDP, attachType: AttachType.XDP_CPUMAP, flags: SecFlag.ATTACHABLE },
  { sec: "xdp.frags", progType: ProgType.XDP, attachType: AttachType.XDP, flags: SecFlag.XDP_FRAGS },
  { sec: "xdp", progType: ProgType.XDP, attachType: AttachType.XDP, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "perf_event", progType: ProgType.PERF_EVENT, flags: SecFlag.NONE },
  { sec: "lwt_in", progType: ProgType.LWT_IN, flags: SecFlag.NONE },
  { sec: "lwt_out", progType: ProgType.LWT_OUT, flags: SecFlag.NONE },
  { sec: "lwt_xmit", progType: ProgType.LWT_XMIT, flags: SecFlag.NONE },
  { sec: "lwt_seg6local", progType: ProgType.LWT_SEG6LOCAL, flags: SecFlag.NONE },
  { sec: "sockops", progType: ProgType.SOCK_OPS, attachType: AttachType.CGROUP_SOCK_OPS, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "sk_skb/stream_parser", progType: ProgType.SK_SKB, attachType: AttachType.SK_SKB_STREAM_PARSER, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "sk_skb/stream_verdict", progType: ProgType.SK_SKB, attachType: AttachType.SK_SKB_STREAM_VERDICT, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "sk_skb/verdict", progType: ProgType.SK_SKB, attachType: AttachType.SK_SKB_VERDICT, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "sk_skb", progType: ProgType.SK_SKB, flags: SecFlag.NONE },
  { sec: "sk_msg", progType: ProgType.SK_MSG, attachType: AttachType.SK_MSG_VERDICT, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "lirc_mode2", progType: ProgType.LIRC_MODE2, attachType: AttachType.LIRC_MODE2, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "flow_dissector", progType: ProgType.FLOW_DISSECTOR, attachType: AttachType.FLOW_DISSECTOR, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "cgroup_skb/ingress", progType: ProgType.CGROUP_SKB, attachType: AttachType.CGROUP_INET_INGRESS, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "cgroup_skb/egress", progType: ProgType.CGROUP_SKB, attachType: AttachType.CGROUP_INET_EGRESS, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "cgroup/skb", progType: ProgType.CGROUP_SKB, flags: SecFlag.NONE },
  { sec: "cgroup/sock_create", progType: ProgType.CGROUP_SOCK, attachType: AttachType.CGROUP_INET_SOCK_CREATE, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/sock_release", progType: ProgType.CGROUP_SOCK, attachType: AttachType.CGROUP_INET_SOCK_RELEASE, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/sock", progType: ProgType.CGROUP_SOCK, attachType: AttachType.CGROUP_INET_SOCK_CREATE, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "cgroup/post_bind4", progType: ProgType.CGROUP_SOCK, attachType: AttachType.CGROUP_INET4_POST_BIND, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/post_bind6", progType: ProgType.CGROUP_SOCK, attachType: AttachType.CGROUP_INET6_POST_BIND, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/bind4", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_INET4_BIND, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/bind6", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_INET6_BIND, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/connect4", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_INET4_CONNECT, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/connect6", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_INET6_CONNECT, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/connect_unix", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_UNIX_CONNECT, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/sendmsg4", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_UDP4_SENDMSG, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/sendmsg6", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_UDP6_SENDMSG, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/sendmsg_unix", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_UNIX_SENDMSG, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/recvmsg4", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_UDP4_RECVMSG, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/recvmsg6", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_UDP6_RECVMSG, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/recvmsg_unix", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_UNIX_RECVMSG, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/getpeername4", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_INET4_GETPEERNAME, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/getpeername6", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_INET6_GETPEERNAME, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/getpeername_unix", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_UNIX_GETPEERNAME, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/getsockname4", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_INET4_GETSOCKNAME, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/getsockname6", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_INET6_GETSOCKNAME, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/getsockname_unix", progType: ProgType.CGROUP_SOCK_ADDR, attachType: AttachType.CGROUP_UNIX_GETSOCKNAME, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/sysctl", progType: ProgType.CGROUP_SYSCTL, attachType: AttachType.CGROUP_SYSCTL, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/getsockopt", progType: ProgType.CGROUP_SOCKOPT, attachType: AttachType.CGROUP_GETSOCKOPT, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/setsockopt", progType: ProgType.CGROUP_SOCKOPT, attachType: AttachType.CGROUP_SETSOCKOPT, flags: SecFlag.ATTACHABLE },
  { sec: "cgroup/dev", progType: ProgType.CGROUP_DEVICE, attachType: AttachType.CGROUP_DEVICE, flags: SecFlag.ATTACHABLE_OPT },
  { sec: "struct_ops+", progType: ProgType.STRUCT_OPS, flags: SecFlag.NONE },
  { sec: "struct_ops.s+", progType: ProgType.STRUCT_OPS, flags: SecFlag.SLEEPABLE },
  { sec: "sk_lookup", progType: ProgType.SK_LOOKUP, attachType: AttachType.SK_LOOKUP, flags: SecFlag.ATTACHABLE },
  { sec: "netfilter", progType: ProgType.NETFILTER, attachType: AttachType.NETFILTER, flags: SecFlag.NONE },
];

/**
 * Enum constants of the bpf(2) ABI (`include/uapi/linux/bpf.h`), checked against the
 * installed uapi header and the running kernel's BTF by `test/abi-headers.test.ts`.
 *
 * Keys drop the C prefix: `BpfCmd.MAP_CREATE` is `BPF_MAP_CREATE`, `MapType.ARRAY` is
 * `BPF_MAP_TYPE_ARRAY`, `ProgType.XDP` is `BPF_PROG_TYPE_XDP`, `AttachType.XDP` is `BPF_XDP`.
 *
 * @packageDocumentation
 */

/** `enum bpf_cmd`: the first argument of bpf(2). Keys are the C names without `BPF_`. */
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
  TOKEN_CREATE: 36,
  PROG_STREAM_READ_BY_FD: 37,
} as const;

/** A bpf(2) command number. */
export type BpfCmdValue = (typeof BpfCmd)[keyof typeof BpfCmd];

const CMD_NAMES = new Map<number, string>(Object.entries(BpfCmd).map(([k, v]) => [v, `BPF_${k}`]));

/** The C name of a command (`BPF_PROG_LOAD`), or `BPF_CMD_<n>` for an unknown number. */
export function commandName(cmd: number): string {
  return CMD_NAMES.get(cmd) ?? `BPF_CMD_${cmd}`;
}

/** Helper function ids (`enum bpf_func_id`) that loader programs call. */
export const BpfFunc = {
  copy_from_user: 148,
  sys_bpf: 166,
  btf_find_by_name_kind: 167,
  sys_close: 168,
  kallsyms_lookup_name: 179,
} as const;

/** `enum bpf_map_type`. Keys are the C names without `BPF_MAP_TYPE_`. */
export const MapType = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
  ARENA: 33,
} as const;

/** `enum bpf_prog_type`. Keys are the C names without `BPF_PROG_TYPE_`. */
export const ProgType = {
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
  NETFILTER: 32,
} as const;

/** A `enum bpf_prog_type` value (one of {@link ProgType}). */
export type ProgTypeValue = (typeof ProgType)[keyof typeof ProgType];

/** `enum bpf_attach_type`. Keys are the C names without `BPF_`. */
export const AttachType = {
  CGROUP_INET_INGRESS: 0,
  CGROUP_INET_EGRESS: 1,
  CGROUP_INET_SOCK_CREATE: 2,
  CGROUP_SOCK_OPS: 3,
  SK_SKB_STREAM_PARSER: 4,
  SK_SKB_STREAM_VERDICT: 5,
  CGROUP_DEVICE: 6,
  SK_MSG_VERDICT: 7,
  CGROUP_INET4_BIND: 8,
  CGROUP_INET6_BIND: 9,
  CGROUP_INET4_CONNECT: 10,
  CGROUP_INET6_CONNECT: 11,
  CGROUP_INET4_POST_BIND: 12,
  CGROUP_INET6_POST_BIND: 13,
  CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15,
  LIRC_MODE2: 16,
  FLOW_DISSECTOR: 17,
  CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19,
  CGROUP_UDP6_RECVMSG: 20,
  CGROUP_GETSOCKOPT: 21,
  CGROUP_SETSOCKOPT: 22,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30,
  CGROUP_INET4_GETSOCKNAME: 31,
  CGROUP_INET6_GETSOCKNAME: 32,
  XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34,
  XDP_CPUMAP: 35,
  SK_LOOKUP: 36,
  XDP: 37,
  SK_SKB_VERDICT: 38,
  SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  LSM_CGROUP: 43,
  STRUCT_OPS: 44,
  NETFILTER: 45,
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
  TRACE_UPROBE_MULTI: 48,
  CGROUP_UNIX_CONNECT: 49,
  CGROUP_UNIX_SENDMSG: 50,
  CGROUP_UNIX_RECVMSG: 51,
  CGROUP_UNIX_GETPEERNAME: 52,
  CGROUP_UNIX_GETSOCKNAME: 53,
  NETKIT_PRIMARY: 54,
  NETKIT_PEER: 55,
  TRACE_KPROBE_SESSION: 56,
  TRACE_UPROBE_SESSION: 57,
} as const;

/** A `enum bpf_attach_type` value (one of {@link AttachType}). */
export type AttachTypeValue = (typeof AttachType)[keyof typeof AttachType];

/** Flags of `BPF_MAP_UPDATE_ELEM` / `BPF_MAP_LOOKUP_ELEM` (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`). */
export const UpdateFlags = {
  BPF_ANY: 0,
  BPF_NOEXIST: 1,
  BPF_EXIST: 2,
  BPF_F_LOCK: 4,
} as const;

/** `map_flags` of `BPF_MAP_CREATE`. Keys are the full C names. */
export const MapFlags = {
  BPF_F_NO_PREALLOC: 1 << 0,
  BPF_F_NO_COMMON_LRU: 1 << 1,
  BPF_F_NUMA_NODE: 1 << 2,
  BPF_F_RDONLY: 1 << 3,
  BPF_F_WRONLY: 1 << 4,
  BPF_F_STACK_BUILD_ID: 1 << 5,
  BPF_F_ZERO_SEED: 1 << 6,
  BPF_F_RDONLY_PROG: 1 << 7,
  BPF_F_WRONLY_PROG: 1 << 8,
  BPF_F_CLONE: 1 << 9,
  BPF_F_MMAPABLE: 1 << 10,
  BPF_F_PRESERVE_ELEMS: 1 << 11,
  BPF_F_INNER_MAP: 1 << 12,
  BPF_F_LINK: 1 << 13,
  BPF_F_PATH_FD: 1 << 14,
  BPF_F_VTYPE_BTF_OBJ_FD: 1 << 15,
  BPF_F_TOKEN_FD: 1 << 16,
  BPF_F_SEGV_ON_FAULT: 1 << 17,
  BPF_F_NO_USER_CONV: 1 << 18,
} as const;

/** `prog_flags` of `BPF_PROG_LOAD` (C `#define`s). */
export const ProgFlags = {
  BPF_F_STRICT_ALIGNMENT: 1 << 0,
  BPF_F_ANY_ALIGNMENT: 1 << 1,
  BPF_F_TEST_RND_HI32: 1 << 2,
  BPF_F_TEST_STATE_FREQ: 1 << 3,
  BPF_F_SLEEPABLE: 1 << 4,
  BPF_F_XDP_HAS_FRAGS: 1 << 5,
} as const;

/** `flags` of `BPF_PROG_TEST_RUN` (C `#define`s). */
export const TestRunFlags = {
  BPF_F_TEST_RUN_ON_CPU: 1 << 0,
  BPF_F_TEST_XDP_LIVE_FRAMES: 1 << 1,
} as const;

/**
 * `attach_flags` of `BPF_PROG_ATTACH` and `flags` of `BPF_LINK_CREATE` / `BPF_LINK_UPDATE` (C `#define`s):
 * cgroup multi-attach, replacement of an expected program, and tcx's place in the chain (Linux 6.6).
 */
export const AttachFlags = {
  BPF_F_ALLOW_OVERRIDE: 1 << 0,
  BPF_F_ALLOW_MULTI: 1 << 1,
  BPF_F_REPLACE: 1 << 2,
  BPF_F_BEFORE: 1 << 3,
  BPF_F_AFTER: 1 << 4,
  BPF_F_ID: 1 << 5,
} as const;

/** `enum bpf_link_type`, without the `BPF_LINK_TYPE_` prefix. */
export const LinkType = {
  UNSPEC: 0,
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  CGROUP: 3,
  ITER: 4,
  NETNS: 5,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  STRUCT_OPS: 9,
  NETFILTER: 10,
  TCX: 11,
  UPROBE_MULTI: 12,
  NETKIT: 13,
  SOCKMAP: 14,
} as const;

/** `XDP_FLAGS_*` of `linux/if_link.h`: the XDP attach mode (`flags` of an XDP link, or of the netlink request). */
export const XdpFlags = {
  XDP_FLAGS_UPDATE_IF_NOEXIST: 1 << 0,
  XDP_FLAGS_SKB_MODE: 1 << 1,
  XDP_FLAGS_DRV_MODE: 1 << 2,
  XDP_FLAGS_HW_MODE: 1 << 3,
  XDP_FLAGS_REPLACE: 1 << 4,
} as const;

/** `BPF_OBJ_NAME_LEN`: object names are at most 15 bytes plus a NUL. */
export const BPF_OBJ_NAME_LEN = 16;
/** `BPF_TAG_SIZE`: size of a program tag. */
export const BPF_TAG_SIZE = 8;

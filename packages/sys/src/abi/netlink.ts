/**
 * The rtnetlink ABI the tc (clsact + cls_bpf) and XDP attach paths use: message headers as layouts,
 * and the constants of `linux/netlink.h`, `rtnetlink.h`, `pkt_sched.h`, `pkt_cls.h` and `if_link.h`
 * they need. Pure data.
 *
 * @packageDocumentation
 */
import { struct } from "@x/elf/layout";

/** `struct nlmsghdr` (16 bytes). */
export const NlMsgHdr = struct("nlmsghdr", [
  ["nlmsg_len", "u32"],
  ["nlmsg_type", "u16"],
  ["nlmsg_flags", "u16"],
  ["nlmsg_seq", "u32"],
  ["nlmsg_pid", "u32"],
]);

/** `struct nlmsgerr` up to the echoed header: the errno (negative) of a request, 0 for an ACK. */
export const NlMsgErr = struct("nlmsgerr", [["error", "i32"]]);

/** `struct rtattr` (4 bytes; payload follows, padded to 4). */
export const RtAttr = struct("rtattr", [
  ["rta_len", "u16"],
  ["rta_type", "u16"],
]);

/** `struct tcmsg` (20 bytes). */
export const TcMsg = struct("tcmsg", [
  ["tcm_family", "u8"],
  ["tcm_ifindex", "i32", 4],
  ["tcm_handle", "u32"],
  ["tcm_parent", "u32"],
  ["tcm_info", "u32"],
]);

/** `struct ifinfomsg` (16 bytes). */
export const IfInfoMsg = struct("ifinfomsg", [
  ["ifi_family", "u8"],
  ["ifi_type", "u16", 2],
  ["ifi_index", "i32"],
  ["ifi_flags", "u32"],
  ["ifi_change", "u32"],
]);

/** Every netlink layout with its C struct (for the ABI test). */
export const NETLINK_LAYOUTS = [
  { cStruct: "nlmsghdr", layout: NlMsgHdr },
  { cStruct: "rtattr", layout: RtAttr },
  { cStruct: "tcmsg", layout: TcMsg },
  { cStruct: "ifinfomsg", layout: IfInfoMsg },
] as const;

/** Netlink and rtnetlink constants, by their C names. */
export const Netlink = {
  AF_NETLINK: 16,
  NETLINK_ROUTE: 0,
  NETLINK_EXT_ACK: 11,
  SOL_NETLINK: 270,
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  NLM_F_REQUEST: 0x1,
  NLM_F_ACK: 0x4,
  NLM_F_ECHO: 0x8,
  NLM_F_DUMP: 0x300,
  NLM_F_REPLACE: 0x100,
  NLM_F_EXCL: 0x200,
  NLM_F_CREATE: 0x400,
  NLM_F_CAPPED: 0x100,
  NLM_F_ACK_TLVS: 0x200,
  NLMSGERR_ATTR_MSG: 1,
  RTM_SETLINK: 19,
  RTM_GETLINK: 18,
  RTM_NEWLINK: 16,
  RTM_NEWQDISC: 36,
  RTM_NEWTFILTER: 44,
  RTM_DELTFILTER: 45,
  RTM_GETTFILTER: 46,
  TCA_KIND: 1,
  TCA_OPTIONS: 2,
  TCA_BPF_FD: 6,
  TCA_BPF_NAME: 7,
  TCA_BPF_FLAGS: 8,
  TCA_BPF_ID: 11,
  TCA_BPF_FLAG_ACT_DIRECT: 1,
  TC_H_CLSACT: 0xfffffff1,
  TC_H_MIN_INGRESS: 0xfff2,
  TC_H_MIN_EGRESS: 0xfff3,
  IFLA_XDP: 43,
  IFLA_XDP_FD: 1,
  IFLA_XDP_ATTACHED: 2,
  IFLA_XDP_FLAGS: 3,
  IFLA_XDP_PROG_ID: 4,
  IFLA_XDP_EXPECTED_FD: 8,
  NLA_F_NESTED: 0x8000,
  ETH_P_ALL: 0x0003,
} as const;

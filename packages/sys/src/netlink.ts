/**
 * rtnetlink for the attach paths that predate bpf links: tc programs as cls_bpf filters on a clsact
 * qdisc (before tcx, Linux 6.6) and XDP set on the interface (before XDP links, 5.9). Requests are
 * synchronous (one socket per call, the answer read at once), and a refusal is a {@link NetlinkError}
 * with the errno and the kernel's extended ACK message ("Exclusivity flag on, cannot modify").
 *
 * Interfaces are looked up in the calling thread's network namespace (see `enterNetns`).
 *
 * @packageDocumentation
 */
import { XError } from "@x/elf";
import { errnoName as nameOf } from "./abi/errno.js";
import { XdpFlags } from "./abi/consts.js";
import { IfInfoMsg, NlMsgErr, NlMsgHdr, Netlink as NL, RtAttr, TcMsg } from "./abi/netlink.js";
import { rawFd, type FdLike } from "./fd.js";
import { sysNetlinkRequest } from "./native.js";
import { LE } from "./util.js";

/** A refused rtnetlink request. `code` is `NETLINK`. */
export class NetlinkError extends XError<"NETLINK"> {
  /** errno name, e.g. `EEXIST`. */
  readonly errnoName: string;
  constructor(
    /** What was asked, e.g. `RTM_NEWTFILTER (tc ingress filter on ifindex 3)`. */
    readonly request: string,
    readonly errno: number,
    /** The kernel's extended ACK message, when it gave one. */
    readonly extack?: string,
  ) {
    const name = nameOf(errno);
    super("NETLINK", `${request} failed: ${name}${extack ? `: ${extack}` : ""}`);
    this.errnoName = name;
  }
}

/** One netlink attribute: a type and its payload (bytes, or nested attributes). */
type Attr = readonly [type: number, payload: Uint8Array | readonly Attr[]];

const align4 = (n: number) => (n + 3) & ~3;
const u32 = (v: number) => new Uint8Array(new Uint32Array([v >>> 0]).buffer);
const i32 = (v: number) => new Uint8Array(new Int32Array([v]).buffer);
const str = (s: string) => new TextEncoder().encode(`${s}\0`);

function encodeAttrs(attrs: readonly Attr[]): Uint8Array {
  const parts = attrs.map(([type, payload]) => {
    const nested = !(payload instanceof Uint8Array);
    const body = nested ? encodeAttrs(payload as readonly Attr[]) : (payload as Uint8Array);
    const out = new Uint8Array(align4(RtAttr.size + body.byteLength));
    RtAttr.write(out, 0, { rta_len: RtAttr.size + body.byteLength, rta_type: type | (nested ? NL.NLA_F_NESTED : 0) }, LE);
    out.set(body, RtAttr.size);
    return out;
  });
  const total = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    total.set(p, at);
    at += p.byteLength;
  }
  return total;
}

/** Attributes of `bytes` (a message's payload after its fixed header), by type (the last of each type wins). */
function decodeAttrs(bytes: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (let at = 0; at + RtAttr.size <= bytes.byteLength; ) {
    const { rta_len: len, rta_type: type } = RtAttr.read(bytes, at, LE);
    if (len < RtAttr.size || at + len > bytes.byteLength) break;
    out.set(type & ~NL.NLA_F_NESTED, bytes.subarray(at + RtAttr.size, at + len));
    at += align4(len);
  }
  return out;
}

let seq = 0;

/**
 * Send one request (`type`, `flags`, the fixed header `head`, then `attrs`) and collect the answer:
 * the messages of a reply (for dumps and echoes), ending at the ACK. Throws {@link NetlinkError}.
 */
function request(what: string, type: number, flags: number, head: Uint8Array, attrs: readonly Attr[]): Uint8Array[] {
  const body = encodeAttrs(attrs);
  const msg = new Uint8Array(NlMsgHdr.size + align4(head.byteLength) + body.byteLength);
  const s = ++seq;
  NlMsgHdr.write(msg, 0, { nlmsg_len: msg.byteLength, nlmsg_type: type, nlmsg_flags: flags | NL.NLM_F_REQUEST | NL.NLM_F_ACK, nlmsg_seq: s, nlmsg_pid: 0 }, LE);
  msg.set(head, NlMsgHdr.size);
  msg.set(body, NlMsgHdr.size + align4(head.byteLength));
  const replies: Uint8Array[] = [];
  const r = sysNetlinkRequest(msg, (chunk) => {
    for (let at = 0; at + NlMsgHdr.size <= chunk.byteLength; ) {
      const h = NlMsgHdr.read(chunk, at, LE);
      if (h.nlmsg_len < NlMsgHdr.size || at + h.nlmsg_len > chunk.byteLength) return true;
      const payload = chunk.subarray(at + NlMsgHdr.size, at + h.nlmsg_len);
      at += align4(h.nlmsg_len);
      if (h.nlmsg_seq !== s) continue;
      if (h.nlmsg_type === NL.NLMSG_DONE) return true;
      if (h.nlmsg_type !== NL.NLMSG_ERROR) {
        replies.push(payload.slice());
        continue;
      }
      const error = NlMsgErr.read(payload, 0, LE).error;
      if (error === 0) return true;
      // The request's header (and, unless capped, its payload) is echoed, then the extended ACK's TLVs.
      const echoed = NlMsgHdr.read(payload, 4, LE).nlmsg_len;
      const tlvAt = 4 + (h.nlmsg_flags & NL.NLM_F_CAPPED ? NlMsgHdr.size : align4(echoed));
      const msgAttr = h.nlmsg_flags & NL.NLM_F_ACK_TLVS ? decodeAttrs(payload.subarray(tlvAt)).get(NL.NLMSGERR_ATTR_MSG) : undefined;
      const text = msgAttr ? new TextDecoder().decode(msgAttr).replace(/\0.*$/s, "") : undefined;
      throw new NetlinkError(what, -error, text);
    }
    return false;
  });
  if (r.errno) throw new NetlinkError(`${what}: ${r.step}`, r.errno);
  return replies;
}

function tcmsg(ifindex: number, parent: number, handle: number, info: number): Uint8Array {
  return TcMsg.encode({ tcm_family: 0, tcm_ifindex: ifindex, tcm_handle: handle, tcm_parent: parent, tcm_info: info }, LE);
}

/** The direction of a tc filter on a clsact qdisc. */
export type TcDirection = "ingress" | "egress";

/** Where a cls_bpf filter sits: interface, direction, and its handle and priority in the chain. */
export interface TcFilterRef {
  readonly ifindex: number;
  readonly direction: TcDirection;
  /** Filter handle (default 1). */
  readonly handle?: number;
  /** Filter priority, 1 first (default 1). */
  readonly priority?: number;
}

const parentOf = (d: TcDirection) => ((NL.TC_H_CLSACT & 0xffff0000) | (d === "ingress" ? NL.TC_H_MIN_INGRESS : NL.TC_H_MIN_EGRESS)) >>> 0;
const infoOf = (priority: number) => ((priority << 16) | ((NL.ETH_P_ALL & 0xff) << 8) | (NL.ETH_P_ALL >> 8)) >>> 0; // TC_H_MAKE(prio << 16, htons(ETH_P_ALL))
const describeFilter = (f: TcFilterRef) => `tc ${f.direction} filter ${f.handle ?? 1} at priority ${f.priority ?? 1} on ifindex ${f.ifindex}`;

/** Add a clsact qdisc to the interface (tc's `qdisc add dev IF clsact`); one already there is fine. Returns whether it was added. */
export function tcClsactAdd(ifindex: number): boolean {
  try {
    request(`RTM_NEWQDISC (clsact on ifindex ${ifindex})`, NL.RTM_NEWQDISC, NL.NLM_F_CREATE | NL.NLM_F_EXCL, tcmsg(ifindex, NL.TC_H_CLSACT, 0xffff0000, 0), [[NL.TCA_KIND, str("clsact")]]);
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.errnoName === "EEXIST") return false;
    throw e;
  }
}

/**
 * Attach `prog` as a direct-action cls_bpf filter (tc's `filter add … bpf da`). With `replace`, the
 * filter at that handle and priority gets the new program atomically (packets see the old one or the
 * new one); without, a filter already there is an error (EEXIST).
 */
export function tcFilterAttach(f: TcFilterRef, prog: FdLike, o: { readonly name?: string; readonly replace?: boolean } = {}): void {
  const flags = NL.NLM_F_CREATE | (o.replace ? NL.NLM_F_REPLACE : NL.NLM_F_EXCL);
  request(`RTM_NEWTFILTER (${describeFilter(f)})`, NL.RTM_NEWTFILTER, flags, tcmsg(f.ifindex, parentOf(f.direction), f.handle ?? 1, infoOf(f.priority ?? 1)), [
    [NL.TCA_KIND, str("bpf")],
    [NL.TCA_OPTIONS, [[NL.TCA_BPF_FD, u32(rawFd(prog))], [NL.TCA_BPF_NAME, str(o.name ?? "xbpf")], [NL.TCA_BPF_FLAGS, u32(NL.TCA_BPF_FLAG_ACT_DIRECT)]]],
  ]);
}

/** Remove the filter (tc's `filter del`). */
export function tcFilterDetach(f: TcFilterRef): void {
  request(`RTM_DELTFILTER (${describeFilter(f)})`, NL.RTM_DELTFILTER, 0, tcmsg(f.ifindex, parentOf(f.direction), f.handle ?? 1, infoOf(f.priority ?? 1)), [[NL.TCA_KIND, str("bpf")]]);
}

/** The id of the program the filter runs, or undefined when there is no such bpf filter. */
export function tcFilterProgramId(f: TcFilterRef): number | undefined {
  let replies: Uint8Array[];
  try {
    replies = request(`RTM_GETTFILTER (${describeFilter(f)})`, NL.RTM_GETTFILTER, 0, tcmsg(f.ifindex, parentOf(f.direction), f.handle ?? 1, infoOf(f.priority ?? 1)), [[NL.TCA_KIND, str("bpf")]]);
  } catch (e) {
    if (e instanceof NetlinkError && (e.errnoName === "ENOENT" || e.errnoName === "EINVAL")) return undefined;
    throw e;
  }
  for (const r of replies) {
    const options = decodeAttrs(r.subarray(TcMsg.size)).get(NL.TCA_OPTIONS);
    const id = options && decodeAttrs(options).get(NL.TCA_BPF_ID);
    if (id) return new DataView(id.buffer, id.byteOffset, 4).getUint32(0, true);
  }
  return undefined;
}

/**
 * Set the interface's XDP program through netlink (`ip link set dev IF xdp …`): `prog` undefined
 * removes it. With `expected` (Linux 5.7, `XDP_FLAGS_REPLACE`), only while `expected` is the program
 * attached: the kernel refuses with EEXIST otherwise. `flags` are `XdpFlags` (the mode).
 */
export function xdpSet(ifindex: number, prog: FdLike | undefined, o: { readonly flags?: number; readonly expected?: FdLike } = {}): void {
  const flags = (o.flags ?? 0) | (o.expected !== undefined ? XdpFlags.XDP_FLAGS_REPLACE : 0);
  const xdp: Attr[] = [[NL.IFLA_XDP_FD, i32(prog === undefined ? -1 : rawFd(prog))], [NL.IFLA_XDP_FLAGS, u32(flags)]];
  if (o.expected !== undefined) xdp.push([NL.IFLA_XDP_EXPECTED_FD, i32(rawFd(o.expected))]);
  request(`RTM_SETLINK (XDP on ifindex ${ifindex})`, NL.RTM_SETLINK, 0, IfInfoMsg.encode({ ifi_family: 0, ifi_index: ifindex }, LE), [[NL.IFLA_XDP, xdp]]);
}

/** The id of the XDP program attached to the interface through netlink (0: none). */
export function xdpProgramId(ifindex: number): number {
  const replies = request(`RTM_GETLINK (ifindex ${ifindex})`, NL.RTM_GETLINK, 0, IfInfoMsg.encode({ ifi_family: 0, ifi_index: ifindex }, LE), []);
  for (const r of replies) {
    const xdp = decodeAttrs(r.subarray(IfInfoMsg.size)).get(NL.IFLA_XDP);
    const id = xdp && decodeAttrs(xdp).get(NL.IFLA_XDP_PROG_ID);
    if (id) return new DataView(id.buffer, id.byteOffset, 4).getUint32(0, true);
  }
  return 0;
}

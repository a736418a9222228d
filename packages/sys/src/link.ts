/**
 * Attaching programs: `BPF_LINK_CREATE` / `UPDATE` / `DETACH`, `BPF_RAW_TRACEPOINT_OPEN`, link info,
 * and the older `BPF_PROG_ATTACH` / `BPF_PROG_DETACH`.
 *
 * @packageDocumentation
 */
import {
  GetFdByIdAttr, GetInfoAttr, LinkCreateAttr, LinkCreatePerfEventAttr, LinkCreateTcxAttr, LinkDetachAttr, LinkUpdateAttr, ProgAttachAttr, RawTracepointOpenAttr,
} from "./abi/attr.js";
import { AttachFlags, BpfCmd, LinkType } from "./abi/consts.js";
import { LinkInfoLayout } from "./abi/info.js";
import { LinkFd, rawFd, type FdLike } from "./fd.js";
import { bpf } from "./syscall.js";
import { addressOf } from "./native.js";
import { cString, LE } from "./util.js";

/** Options of {@link linkCreate}. */
export interface LinkCreateOptions {
  /** Attach target: a cgroup fd, an ifindex, a perf event fd… as the attach type wants (a number is passed as is, -1 too). */
  target: FdLike;
  /** Attach type (see `AttachType`). */
  attachType: number;
  /** `link_create.flags` (XDP: `XdpFlags`; tcx: `AttachFlags.BPF_F_BEFORE`/`AFTER`/`ID`). */
  flags?: number;
  /** tcx (Linux 6.6): the program or link the new one goes before or after (an fd, or an id with `BPF_F_ID`). */
  relative?: FdLike;
  /** tcx: fail with ESTALE unless the chain is at this revision (0: any). */
  expectedRevision?: bigint;
  /** Perf event links: the value `bpf_get_attach_cookie()` returns. */
  cookie?: bigint;
}

/** `BPF_LINK_CREATE`: attach `prog` and return the link's fd handle. Throws `BpfSyscallError`. */
export function linkCreate(prog: FdLike, o: LinkCreateOptions): LinkFd {
  const head = { prog_fd: rawFd(prog) >>> 0, attach_type: o.attachType, flags: o.flags ?? 0 };
  const target = rawFd(o.target) >>> 0;
  let attr: Uint8Array;
  if (o.relative !== undefined || o.expectedRevision !== undefined) {
    attr = LinkCreateTcxAttr.encode({ ...head, target_ifindex: target, "tcx.relative_fd": o.relative === undefined ? 0 : rawFd(o.relative) >>> 0, "tcx.expected_revision": o.expectedRevision ?? 0n }, LE);
  } else if (o.cookie !== undefined) {
    attr = LinkCreatePerfEventAttr.encode({ ...head, target_fd: target, "perf_event.bpf_cookie": o.cookie }, LE);
  } else {
    attr = LinkCreateAttr.encode({ ...head, target_fd: target }, LE);
  }
  return new LinkFd(bpf(BpfCmd.LINK_CREATE, attr));
}

/**
 * `BPF_LINK_UPDATE`: make `link` run `newProg`. With `expected`, only while `expected` is the program
 * attached (`BPF_F_REPLACE`): a concurrent replacement makes this fail with EPERM instead of being lost.
 */
export function linkUpdate(link: FdLike, newProg: FdLike, expected?: FdLike): void {
  const attr = LinkUpdateAttr.encode({
    link_fd: rawFd(link), new_prog_fd: rawFd(newProg), flags: expected === undefined ? 0 : AttachFlags.BPF_F_REPLACE, old_prog_fd: expected === undefined ? 0 : rawFd(expected),
  }, LE);
  bpf(BpfCmd.LINK_UPDATE, attr);
}

/** `BPF_LINK_DETACH` (Linux 5.9): detach the link's program now; the link fd stays valid, "defunct". */
export function linkDetach(link: FdLike): void {
  bpf(BpfCmd.LINK_DETACH, LinkDetachAttr.encode({ link_fd: rawFd(link) }, LE));
}

/** `BPF_LINK_GET_FD_BY_ID`. */
export function linkGetFdById(id: number): LinkFd {
  return new LinkFd(bpf(BpfCmd.LINK_GET_FD_BY_ID, GetFdByIdAttr.encode({ link_id: id }, LE)));
}

/** Decoded `struct bpf_link_info`: the head, and the fields of its type that say what it is attached to. */
export interface LinkInfo {
  /** `LinkType`. */
  type: number;
  id: number;
  /** The program the link runs (0 once detached, on kernels that say so). */
  progId: number;
  /** XDP and tcx links: the interface. */
  ifindex?: number;
  /** cgroup, netns, tcx and tracing links: the attach type. */
  attachType?: number;
  /** cgroup links: the cgroup's id (its inode number in cgroupfs). */
  cgroupId?: bigint;
  /** netns links: the namespace's inode number. */
  netnsIno?: number;
  /** tracing links to a BPF program (freplace, fentry on BPF): the target program's id, and its function's BTF id. */
  targetObjId?: number;
  targetBtfId?: number;
  /** raw tracepoint links: the tracepoint. */
  tracepoint?: string;
}

/** `BPF_OBJ_GET_INFO_BY_FD` for a link. */
export function linkInfo(fd: FdLike): LinkInfo {
  const buf = new Uint8Array(LinkInfoLayout.size);
  const attr = GetInfoAttr.encode({ bpf_fd: rawFd(fd), info_len: buf.byteLength, info: addressOf(buf) }, LE);
  bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr);
  const r = LinkInfoLayout.read(buf, 0, LE);
  const info: LinkInfo = { type: r.type, id: r.id, progId: r.prog_id };
  switch (r.type) {
    case LinkType.RAW_TRACEPOINT: {
      // A second call, with a buffer for the name.
      const len = r["raw_tracepoint.tp_name_len"];
      if (len > 0) {
        const name = new Uint8Array(len);
        const again = new Uint8Array(LinkInfoLayout.size);
        LinkInfoLayout.write(again, 0, { "raw_tracepoint.tp_name": addressOf(name), "raw_tracepoint.tp_name_len": len }, LE);
        bpf(BpfCmd.OBJ_GET_INFO_BY_FD, GetInfoAttr.encode({ bpf_fd: rawFd(fd), info_len: again.byteLength, info: addressOf(again) }, LE));
        const end = name.indexOf(0);
        info.tracepoint = new TextDecoder().decode(end < 0 ? name : name.subarray(0, end));
      }
      break;
    }
    case LinkType.TRACING:
      Object.assign(info, { attachType: r["tracing.attach_type"], targetObjId: r["tracing.target_obj_id"], targetBtfId: r["tracing.target_btf_id"] });
      break;
    case LinkType.CGROUP:
      Object.assign(info, { cgroupId: r["cgroup.cgroup_id"], attachType: r["cgroup.attach_type"] });
      break;
    case LinkType.NETNS:
      Object.assign(info, { netnsIno: r["netns.netns_ino"], attachType: r["netns.attach_type"] });
      break;
    case LinkType.XDP:
      info.ifindex = r["xdp.ifindex"];
      break;
    case LinkType.TCX:
      Object.assign(info, { ifindex: r["tcx.ifindex"], attachType: r["tcx.attach_type"] });
      break;
  }
  return info;
}

/** Options of {@link progAttach}. */
export interface ProgAttachOptions {
  /** `AttachFlags` (`BPF_F_ALLOW_MULTI`, `BPF_F_REPLACE`…). */
  flags?: number;
  /** With `BPF_F_REPLACE`: the attached program to replace in place. */
  replace?: FdLike;
}

/**
 * `BPF_PROG_ATTACH`: attach `prog` to `target` (a cgroup fd, a netns fd, a sockmap…) with no link:
 * it stays until {@link progDetach}, whoever holds fds. Throws `BpfSyscallError`.
 */
export function progAttach(target: FdLike, prog: FdLike, attachType: number, o: ProgAttachOptions = {}): void {
  const attr = ProgAttachAttr.encode({
    target_fd: rawFd(target) >>> 0, attach_bpf_fd: rawFd(prog), attach_type: attachType, attach_flags: o.flags ?? 0, replace_bpf_fd: o.replace === undefined ? 0 : rawFd(o.replace),
  }, LE);
  bpf(BpfCmd.PROG_ATTACH, attr);
}

/** `BPF_PROG_DETACH`: detach `prog` (or, for single-program attach points, whatever is attached) from `target`. */
export function progDetach(target: FdLike, attachType: number, prog?: FdLike): void {
  const attr = ProgAttachAttr.encode({ target_fd: rawFd(target) >>> 0, attach_bpf_fd: prog === undefined ? 0 : rawFd(prog), attach_type: attachType }, LE);
  bpf(BpfCmd.PROG_DETACH, attr);
}

/**
 * `BPF_RAW_TRACEPOINT_OPEN`: attach a raw tracepoint program to tracepoint `name`, or, without a
 * name, a tracing (fentry/fexit/fmod_ret, tp_btf, lsm) or freplace program to the target it was loaded
 * for (Linux 5.5; the one way to do it before `BPF_LINK_CREATE` took them). Throws `BpfSyscallError`.
 */
export function rawTracepointOpen(prog: FdLike, name?: string): LinkFd {
  const cName = name === undefined ? undefined : cString(name);
  const attr = RawTracepointOpenAttr.encode({ name: addressOf(cName), prog_fd: rawFd(prog) >>> 0 }, LE);
  const fd = bpf(BpfCmd.RAW_TRACEPOINT_OPEN, attr);
  void cName;
  return new LinkFd(fd);
}

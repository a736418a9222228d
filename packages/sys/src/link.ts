/**
 * `BPF_LINK_CREATE` and `BPF_RAW_TRACEPOINT_OPEN`.
 *
 * @packageDocumentation
 */
import { LinkCreateAttr, RawTracepointOpenAttr } from "./abi/attr.js";
import { BpfCmd } from "./abi/consts.js";
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
  /** `link_create.flags`. */
  flags?: number;
}

/** `BPF_LINK_CREATE`: attach `prog` and return the link's fd handle. Throws `BpfSyscallError`. */
export function linkCreate(prog: FdLike, o: LinkCreateOptions): LinkFd {
  const target = rawFd(o.target) >>> 0;
  const attr = LinkCreateAttr.encode({ prog_fd: rawFd(prog) >>> 0, target_fd: target, attach_type: o.attachType, flags: o.flags ?? 0 }, LE);
  return new LinkFd(bpf(BpfCmd.LINK_CREATE, attr));
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

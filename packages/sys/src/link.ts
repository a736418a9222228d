/**
 * `BPF_LINK_CREATE`.
 *
 * @packageDocumentation
 */
import { LinkCreateAttr } from "./abi/attr.js";
import { BpfCmd } from "./abi/consts.js";
import { LinkFd, rawFd, type FdLike } from "./fd.js";
import { bpf } from "./syscall.js";
import { LE } from "./util.js";

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

/**
 * Attachments through a bpf link: the {@link Link} handle (pin, atomic update with `BPF_F_REPLACE`,
 * detach), opening a pinned one, and the errors the attach code shares.
 */
import { mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import {
  BpfSyscallError, dupFd, linkDetach, LinkFd, linkInfo, type LinkInfo, LinkType, linkUpdate, MapFd, NetlinkError, objGet, objPin, PerfEventError, ProgFd, progGetFdById,
  progInfo, SyscallError,
} from "@x/sys";
import type { ErrorLocation } from "@x/elf";
import type { Attachment, AttachableProgram } from "./attach.js";
import { AttachError } from "./errors.js";
import type { KernelFd } from "./load/kernel.js";
import { attachmentFromMap, isAttachmentMap } from "./netlink-attachment.js";

/** What a link attaches to, by `enum bpf_link_type`; `tc` (and `xdp`) for a netlink attachment of a kernel without such links. */
export type LinkKind = "tc" | "socket" | "raw_tracepoint" | "tracing" | "cgroup" | "iter" | "netns" | "xdp" | "perf_event" | "kprobe_multi" | "struct_ops" | "netfilter" | "tcx" | "uprobe_multi" | "netkit" | "sockmap" | "unknown";

const KIND_BY_TYPE: Readonly<Record<number, LinkKind>> = Object.fromEntries(
  Object.entries(LinkType).filter(([k]) => k !== "UNSPEC").map(([k, v]) => [v, k.toLowerCase() as LinkKind]),
);

/** The kind of a link of `enum bpf_link_type` `type`. */
export function linkKind(type: number): LinkKind {
  return KIND_BY_TYPE[type] ?? "unknown";
}

/**
 * An attachment through a bpf_link. Disposing the handle closes its fds: the attachment ends then,
 * unless the link is pinned ({@link Link.pin}), and then it lasts until {@link Link.detach} or the pin
 * is removed. The handle keeps an fd of the program it attached, so {@link Link.update} can insist that
 * it is still the one running.
 */
export class Link implements Attachment {
  readonly #fd: LinkFd;
  #program: ProgFd | undefined;
  /** Where the link is pinned, if it is. */
  pinPath: string | undefined;
  /** What it attaches to. */
  readonly kind: LinkKind;
  readonly via = "link";

  /** @internal Takes ownership of both fds. */
  constructor(fd: LinkFd, kind: LinkKind, program: ProgFd | undefined, pinPath?: string) {
    this.#fd = fd;
    this.kind = kind;
    this.#program = program;
    this.pinPath = pinPath;
  }

  /** The link's fd. */
  get fd(): number {
    return this.#fd.fd;
  }

  /** Kernel info: id, type, program id, and what it is attached to. */
  info(): LinkInfo {
    return linkInfo(this.#fd);
  }

  /** The link's kernel id. */
  get id(): number {
    return this.info().id;
  }

  /** The id of the program the link runs now. */
  runningProgramId(): number {
    return this.info().progId;
  }

  /** The id of the program this handle attached (or found attached, for an opened pin), which {@link update} expects to replace. */
  get programId(): number | undefined {
    return this.#program ? progInfo(this.#program).id : undefined;
  }

  /** Pin the link at `path` on a bpffs: the attachment then outlives this process. */
  pin(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    try {
      objPin(this.#fd, path);
    } catch (e) {
      throw attachError(e, `cannot pin link at ${path}`);
    }
    this.pinPath = path;
  }

  /** Remove the pin (the attachment lasts as long as this handle, then). */
  unpin(): void {
    if (this.pinPath) rmSync(this.pinPath, { force: true });
    this.pinPath = undefined;
  }

  /**
   * Atomically make the link run `program` instead (`BPF_LINK_UPDATE`): every event is seen by the old
   * program or the new one, never both or neither. With `BPF_F_REPLACE` the kernel does it only while
   * the program this handle attached is still the one running (or `expected`, when given); otherwise
   * nothing changes and {@link AttachError} `ATTACH_REPLACED` says who runs instead.
   */
  update(program: AttachableProgram | KernelFd, options: { readonly expected?: KernelFd } = {}): void {
    const fd = "spec" in program ? program.fd : program;
    const expected = options.expected ?? this.#program;
    try {
      linkUpdate(this.#fd, fd, expected);
    } catch (e) {
      if (e instanceof BpfSyscallError && e.errnoName === "EPERM" && expected) {
        const running = this.info().progId;
        const wanted = progInfo(expected).id;
        if (running !== wanted) {
          throw new AttachError("ATTACH_REPLACED", `link ${this.id} runs program ${running}, not program ${wanted} this handle expected: it was replaced meanwhile, and is left as it is`, { command: e.command, errnoName: e.errnoName }, { cause: e });
        }
      }
      if (e instanceof BpfSyscallError && (e.errnoName === "EOPNOTSUPP" || e.errnoName === "ENOTSUPP")) {
        throw new AttachError("ATTACH_FAILED", `${this.kind} links cannot run another program (BPF_LINK_UPDATE: ${e.errnoName}); attach the new program and close this link instead`, { command: e.command, errnoName: e.errnoName }, { cause: e });
      }
      throw attachError(e, `cannot update link ${this.safeId()}`);
    }
    const next = new ProgFd(dupFd(fd));
    this.#program?.close();
    this.#program = next;
  }

  /**
   * End the attachment now (`BPF_LINK_DETACH`, 5.9; for link types that cannot detach, or older
   * kernels, by removing the pin and closing), remove the pin, and close the handle.
   */
  detach(): void {
    try {
      linkDetach(this.#fd);
    } catch (e) {
      const tolerated = e instanceof BpfSyscallError && ["EOPNOTSUPP", "ENOTSUPP", "EINVAL"].includes(e.errnoName);
      if (!tolerated) throw attachError(e, `cannot detach link ${this.safeId()}`);
    }
    this.unpin();
    this.close();
  }

  /** Close the handle's fds (the attachment ends unless pinned). Idempotent. */
  close(): void {
    this.#program?.close();
    this.#program = undefined;
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private safeId(): string {
    try {
      return String(this.id);
    } catch {
      return `fd ${this.#fd}`;
    }
  }
}

/**
 * Open the attachment pinned at `path`: a link (pinned by @x, bpftool or libbpf), or the description
 * of a netlink attachment that {@link Attachment.pin} left there. The handle expects the program
 * running now on update.
 */
export function openPinnedLink(path: string): Attachment {
  let fd: ReturnType<typeof objGet>;
  try {
    fd = objGet(path);
  } catch (e) {
    throw new AttachError("ATTACH_BAD_PIN", `cannot open pinned link ${path}: ${(e as Error).message}`, bpfDetails(e), { cause: e });
  }
  if (fd instanceof MapFd && isAttachmentMap(fd)) {
    try {
      return attachmentFromMap(fd, path);
    } finally {
      fd.close();
    }
  }
  if (!(fd instanceof LinkFd)) {
    fd.close();
    throw new AttachError("ATTACH_BAD_PIN", `${path} is pinned but is not a link (it is a ${fd.kind})`);
  }
  try {
    const info = linkInfo(fd);
    const program = info.progId ? progGetFdById(info.progId) : undefined;
    return new Link(fd, linkKind(info.type), program, path);
  } catch (e) {
    fd.close();
    throw attachError(e, `cannot read pinned link ${path}`);
  }
}

/** The command and errno of a failed call (bpf(2), another syscall, a netlink request, a perf event), for an {@link AttachError}. */
export function bpfDetails(e: unknown): { command?: string; errnoName?: string } {
  if (e instanceof BpfSyscallError) return { command: e.command, errnoName: e.errnoName };
  if (e instanceof SyscallError) return { command: e.syscall, errnoName: e.errnoName };
  if (e instanceof NetlinkError) return { command: e.request.split(" ")[0], errnoName: e.errnoName };
  if (e instanceof PerfEventError && e.errnoName) return { command: "perf_event_open", errnoName: e.errnoName };
  return {};
}

/** `e` as an {@link AttachError} (`ATTACH_FAILED`) saying `message`, unless it is one already. */
export function attachError(e: unknown, message: string, where: ErrorLocation = {}): AttachError {
  if (e instanceof AttachError) return e;
  return new AttachError("ATTACH_FAILED", `${message}: ${(e as Error).message}`, { ...where, ...bpfDetails(e) }, { cause: e });
}

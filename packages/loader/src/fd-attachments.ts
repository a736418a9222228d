/**
 * Attachments without a link of their own: a cgroup program attached with `BPF_PROG_ATTACH` (kernels
 * before cgroup links, 5.7, or `via: "prog_attach"`) and a socket filter (`SO_ATTACH_BPF`). Both last
 * until detached, whatever holds fds: the handle detaches them when closed, and cannot pin them.
 */
import { closeSync, constants, openSync } from "node:fs";
import {
  AttachFlags, attachSocketFilter, BpfSyscallError, detachSocketFilter, dupFd, type LinkInfo, ProgFd, progAttach, progDetach, progInfo, SyscallError,
} from "@x/sys";
import type { ErrorLocation } from "@x/elf";
import type { Attachment, AttachableProgram } from "./attach.js";
import { bpfDetails, type LinkKind } from "./link.js";
import { AttachError } from "./errors.js";
import type { KernelFd } from "./load/kernel.js";

/** Shared by the fd-less attachments: the program fd of their own, and the no-pin rule. */
abstract class UnlinkedAttachment implements Attachment {
  abstract readonly kind: LinkKind;
  readonly via = "prog_attach";
  readonly pinPath = undefined;
  protected program: ProgFd | undefined;
  #ended = false;

  constructor(program: ProgFd) {
    this.program = program;
  }

  get programId(): number | undefined {
    return this.program ? progInfo(this.program).id : undefined;
  }

  runningProgramId(): number {
    return this.#ended ? 0 : (this.programId ?? 0);
  }

  info(): LinkInfo {
    return { type: 0, id: 0, progId: this.runningProgramId() };
  }

  abstract update(program: AttachableProgram | KernelFd, options?: { readonly expected?: KernelFd }): void;
  protected abstract end(): void;

  pin(path: string): void {
    throw new AttachError("ATTACH_FAILED", `cannot pin a ${this.kind} attachment made without a link at ${path}: it lasts until detached (or, for a socket filter, as long as the socket)`);
  }

  unpin(): void {}

  detach(): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.end();
    } finally {
      this.program?.close();
      this.program = undefined;
    }
  }

  close(): void {
    this.detach();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  protected swapped(fd: KernelFd): void {
    const next = new ProgFd(dupFd(fd));
    this.program?.close();
    this.program = next;
  }
}

/**
 * A cgroup program attached with `BPF_PROG_ATTACH` and `BPF_F_ALLOW_MULTI` (other programs keep
 * theirs); {@link CgroupAttachment.update} swaps it in place with `BPF_F_REPLACE`, which the kernel
 * refuses (ENOENT) when the expected program is no longer attached.
 */
export class CgroupAttachment extends UnlinkedAttachment {
  readonly kind = "cgroup";

  private constructor(program: ProgFd, readonly path: string, readonly attachType: number) {
    super(program);
  }

  static attach(program: AttachableProgram, path: string, attachType: number, where: ErrorLocation): CgroupAttachment {
    const own = new ProgFd(dupFd(program.fd));
    try {
      withCgroup(path, where, (fd) => progAttach(fd, program.fd, attachType, { flags: AttachFlags.BPF_F_ALLOW_MULTI }));
    } catch (e) {
      own.close();
      if (e instanceof AttachError) throw e;
      throw new AttachError("ATTACH_FAILED", `cannot attach program '${program.name}' to cgroup ${path} (BPF_PROG_ATTACH): ${(e as Error).message}`, { ...where, ...bpfDetails(e) }, { cause: e });
    }
    return new CgroupAttachment(own, path, attachType);
  }

  update(program: AttachableProgram | KernelFd, options: { readonly expected?: KernelFd } = {}): void {
    const fd = "spec" in program ? program.fd : program;
    const expected = options.expected ?? this.program;
    if (!expected) throw new AttachError("ATTACH_FAILED", `the cgroup attachment at ${this.path} was detached`);
    try {
      withCgroup(this.path, {}, (cg) => progAttach(cg, fd, this.attachType, { flags: AttachFlags.BPF_F_ALLOW_MULTI | AttachFlags.BPF_F_REPLACE, replace: expected }));
    } catch (e) {
      if (e instanceof BpfSyscallError && e.errnoName === "ENOENT") {
        throw new AttachError("ATTACH_REPLACED", `program ${progInfo(expected).id} is no longer attached to cgroup ${this.path}: it was replaced or detached meanwhile, and nothing changed`, bpfDetails(e), { cause: e });
      }
      throw new AttachError("ATTACH_FAILED", `cannot replace the program on cgroup ${this.path}: ${(e as Error).message}`, bpfDetails(e), { cause: e });
    }
    this.swapped(fd);
  }

  protected end(): void {
    const prog = this.program;
    try {
      withCgroup(this.path, {}, (cg) => progDetach(cg, this.attachType, prog));
    } catch (e) {
      if (!(e instanceof BpfSyscallError && e.errnoName === "ENOENT")) {
        throw new AttachError("ATTACH_FAILED", `cannot detach the program from cgroup ${this.path}: ${(e as Error).message}`, bpfDetails(e), { cause: e });
      }
    }
  }
}

function withCgroup<T>(path: string, where: ErrorLocation, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (e) {
    throw new AttachError("ATTACH_BAD_POINT", `cannot open cgroup ${path}: ${(e as Error).message}`, where, { cause: e });
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A socket filter (`SO_ATTACH_BPF`) on a socket's fd. {@link SocketFilterAttachment.update} sets the
 * new program in its place (the kernel swaps a socket's filter atomically, but cannot be asked which
 * program a socket runs: the expectation is not checked).
 */
export class SocketFilterAttachment extends UnlinkedAttachment {
  readonly kind = "socket";

  private constructor(program: ProgFd, readonly socket: number) {
    super(program);
  }

  static attach(program: AttachableProgram, socket: number, where: ErrorLocation): SocketFilterAttachment {
    const own = new ProgFd(dupFd(program.fd));
    try {
      attachSocketFilter(socket, program.fd);
    } catch (e) {
      own.close();
      throw new AttachError("ATTACH_FAILED", `cannot attach program '${program.name}' to socket ${socket}: ${(e as Error).message}`, { ...where, ...bpfDetails(e) }, { cause: e });
    }
    return new SocketFilterAttachment(own, socket);
  }

  update(program: AttachableProgram | KernelFd): void {
    const fd = "spec" in program ? program.fd : program;
    try {
      attachSocketFilter(this.socket, fd);
    } catch (e) {
      throw new AttachError("ATTACH_FAILED", `cannot replace the filter of socket ${this.socket}: ${(e as Error).message}`, bpfDetails(e), { cause: e });
    }
    this.swapped(fd);
  }

  protected end(): void {
    try {
      detachSocketFilter(this.socket);
    } catch (e) {
      // A closed socket has no filter left to remove.
      if (!(e instanceof SyscallError && (e.errnoName === "EBADF" || e.errnoName === "ENOENT" || e.errnoName === "ENOTSOCK"))) throw e;
    }
  }
}

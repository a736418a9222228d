/**
 * Ownership of BPF object file descriptors. A handle closes its fd exactly once, on
 * `close()`, on `using` scope exit, or (as a safety net only) when it is garbage collected.
 *
 * @packageDocumentation
 */
import { readlinkSync } from "node:fs";
import { FdClosedError, SyscallError } from "./errors.js";
import { sysClose, sysDup } from "./native.js";

/** What kind of kernel object an fd refers to. */
export type FdKind = "map" | "prog" | "btf" | "link" | "perf_event" | "unknown";

let live = 0;
let collected = 0;

const registry = new FinalizationRegistry<number>((fd) => {
  live--;
  collected++;
  sysClose(fd);
});

/** An owned file descriptor of a BPF object. */
export class BpfFd implements Disposable {
  #fd: number;
  /** Object kind. */
  readonly kind: FdKind;

  /** Take ownership of `fd` (a non-negative descriptor). */
  constructor(fd: number, kind: FdKind = "unknown") {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`invalid file descriptor ${fd}`);
    this.#fd = fd;
    this.kind = kind;
    live++;
    registry.register(this, fd, this);
  }

  /** The raw descriptor. Throws {@link FdClosedError} after {@link BpfFd.close}. */
  get fd(): number {
    if (this.#fd < 0) throw new FdClosedError(this.kind);
    return this.#fd;
  }

  /** Whether the handle has been closed. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Close the descriptor. Idempotent. */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    registry.unregister(this);
    live--;
    sysClose(fd);
  }

  /** Give up ownership: return the raw fd, which the caller must close. */
  release(): number {
    const fd = this.fd;
    this.#fd = -1;
    registry.unregister(this);
    live--;
    return fd;
  }

  /** Same as {@link BpfFd.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `map fd 7`, `prog fd (closed)`. */
  toString(): string {
    return `${this.kind} fd ${this.#fd < 0 ? "(closed)" : this.#fd}`;
  }
}

/** An owned BPF map fd. */
export class MapFd extends BpfFd {
  /** Take ownership of a map fd. */
  constructor(fd: number) {
    super(fd, "map");
  }
}

/** An owned BPF program fd. */
export class ProgFd extends BpfFd {
  /** Verifier log, when the program was loaded with an explicit `logLevel`. */
  log?: string;
  /** Take ownership of a program fd. */
  constructor(fd: number) {
    super(fd, "prog");
  }
}

/** An owned BTF object fd. */
export class BtfFd extends BpfFd {
  /** BTF log, when the BTF was loaded with an explicit `logLevel`. */
  log?: string;
  /** Take ownership of a BTF fd. */
  constructor(fd: number) {
    super(fd, "btf");
  }
}

/** An owned BPF link fd. */
export class LinkFd extends BpfFd {
  /** Take ownership of a link fd. */
  constructor(fd: number) {
    super(fd, "link");
  }
}

/**
 * A descriptor of its own on the object `fd` refers to (`F_DUPFD_CLOEXEC`), for the caller to wrap
 * and own (`new ProgFd(dupFd(prog))`): one syscall, where reopening by id takes two bpf(2) calls.
 * Throws `SyscallError`.
 */
export function dupFd(fd: FdLike): number {
  const raw = rawFd(fd);
  const r = sysDup(raw);
  if (r.errno) throw new SyscallError("fcntl(F_DUPFD_CLOEXEC)", r.errno, `fd ${raw}`);
  return r.fd;
}

/** A raw fd or anything holding one (a {@link BpfFd}, a loader's handle), for functions that only borrow a descriptor. */
export type FdLike = number | { readonly fd: number };

/** The raw descriptor of an {@link FdLike} (throws on a closed handle). */
export function rawFd(fd: FdLike): number {
  return typeof fd === "number" ? fd : fd.fd;
}

/**
 * Wrap an fd of unknown kind in the right handle class, by the anon inode name the kernel
 * gives it (`anon_inode:bpf-map`, `anon_inode:bpf-prog`, `anon_inode:btf`, `anon_inode:bpf_link`).
 */
export function adoptFd(fd: number): BpfFd {
  let target = "";
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    // fall through: unknown kind
  }
  if (target === "anon_inode:bpf-map") return new MapFd(fd);
  if (target === "anon_inode:bpf-prog") return new ProgFd(fd);
  if (target === "anon_inode:btf") return new BtfFd(fd);
  // A link created by LINK_CREATE is "bpf_link"; one opened by BPF_OBJ_GET or by id is "bpf-link".
  if (target === "anon_inode:bpf_link" || target === "anon_inode:bpf-link") return new LinkFd(fd);
  return new BpfFd(fd, "unknown");
}

/** Counters of fd handles, for leak tests. */
export interface FdStats {
  /** Handles created and not yet closed (by close() or by GC). */
  open: number;
  /** Handles the FinalizationRegistry closed because they were garbage collected unclosed (leaks). */
  collected: number;
}

/** Current handle counters. */
export function fdStats(): FdStats {
  return { open: live, collected };
}

/**
 * Network namespaces and interfaces, for attaching where a datapath lives: run code inside a named
 * namespace (`setns(2)` on the calling thread, which is where @x/sys makes its calls), find an
 * interface's index, and attach socket filters.
 *
 * @packageDocumentation
 */
import { closeSync, constants, openSync } from "node:fs";
import { rawFd, type FdLike } from "./fd.js";
import { SyscallError } from "./errors.js";
import { sysIfNameToIndex, sysSetns, sysSetsockopt } from "./native.js";

/** `CLONE_NEWNET`. */
const CLONE_NEWNET = 0x40000000;

/** The file of a namespace `ip netns add NAME` made, or a path as is (`/proc/PID/ns/net`). */
export function netnsPath(nameOrPath: string): string {
  return nameOrPath.includes("/") ? nameOrPath : `/run/netns/${nameOrPath}`;
}

/**
 * Switch this thread to network namespace `nameOrPath` until the returned handle is disposed, which
 * switches back. Sockets and interface lookups made meanwhile belong to that namespace (and a socket
 * stays in it after). Throws `SyscallError` when the namespace cannot be opened or entered.
 */
export function enterNetns(nameOrPath: string): Disposable {
  const path = netnsPath(nameOrPath);
  const here = openSync("/proc/thread-self/ns/net", constants.O_RDONLY);
  let there: number;
  try {
    there = openSync(path, constants.O_RDONLY);
  } catch (e) {
    closeSync(here);
    const errno = -((e as { errno?: number }).errno ?? -2);
    throw new SyscallError("open", errno, `network namespace ${path}`);
  }
  try {
    const errno = sysSetns(there, CLONE_NEWNET);
    if (errno) throw new SyscallError("setns", errno, `network namespace ${path}`);
  } catch (e) {
    closeSync(here);
    throw e;
  } finally {
    closeSync(there);
  }
  let back = false;
  return {
    [Symbol.dispose]() {
      if (back) return;
      back = true;
      const errno = sysSetns(here, CLONE_NEWNET);
      closeSync(here);
      if (errno) throw new SyscallError("setns", errno, "back to the original network namespace");
    },
  };
}

/** The index of interface `name` in this thread's network namespace; throws `SyscallError` (ENODEV) when there is none. */
export function interfaceIndex(name: string): number {
  const { index, errno } = sysIfNameToIndex(name);
  if (index === 0) throw new SyscallError("if_nametoindex", errno || 19, `interface ${name}`);
  return index;
}

const SOL_SOCKET = 1;
const SO_ATTACH_BPF = 50;
const SO_DETACH_BPF = 27;

/** `setsockopt(SO_ATTACH_BPF)`: filter `socket`'s traffic through socket filter `prog` (replacing any filter it had). */
export function attachSocketFilter(socket: number, prog: FdLike): void {
  const v = new Int32Array([rawFd(prog)]);
  const errno = sysSetsockopt(socket, SOL_SOCKET, SO_ATTACH_BPF, new Uint8Array(v.buffer));
  if (errno) throw new SyscallError("setsockopt", errno, `SO_ATTACH_BPF on socket ${socket}`);
}

/** `setsockopt(SO_DETACH_BPF)`: remove `socket`'s filter. */
export function detachSocketFilter(socket: number): void {
  const errno = sysSetsockopt(socket, SOL_SOCKET, SO_DETACH_BPF, new Uint8Array(4));
  if (errno) throw new SyscallError("setsockopt", errno, `SO_DETACH_BPF on socket ${socket}`);
}

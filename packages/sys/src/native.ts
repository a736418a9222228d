/**
 * The libc functions @x/sys calls through koffi, bound once and lazily. Internal module.
 *
 * @packageDocumentation
 */
import { createRequire } from "node:module";

type Koffi = typeof import("koffi");
type Fn = (...args: unknown[]) => unknown;

const require = createRequire(import.meta.url);

/** `__NR_bpf` per architecture. */
const SYS_BPF: Partial<Record<string, number>> = { x64: 321, arm64: 280 };
/** `__NR_perf_event_open` per architecture. */
const SYS_PERF_EVENT_OPEN: Partial<Record<string, number>> = { x64: 298, arm64: 241 };

/** `_SC_PAGESIZE` on Linux. */
const SC_PAGESIZE = 30;

interface Libc {
  koffi: Koffi;
  bpfNr: number;
  syscall: Fn;
  close: Fn;
  mmap: Fn;
  mmapAt: Fn;
  munmap: Fn;
  sysconf: Fn;
  strerror: Fn;
  setns: Fn;
  ifNameToIndex: Fn;
  setsockopt: Fn;
  socket: Fn;
  fcntl: Fn;
  ioctl: Fn;
  perfSyscall: Fn;
  send: Fn;
  recv: Fn;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  if (process.platform !== "linux") throw new Error(`@x/sys needs Linux (bpf(2)); this is ${process.platform}`);
  const koffi = require("koffi") as Koffi;
  const lib = koffi.load("libc.so.6");
  // syscall(2) is variadic; on x86_64 and aarch64 Linux integer/pointer varargs travel in the
  // same registers as fixed arguments, so a fixed prototype is equivalent and cheaper to call.
  const bpfNr = SYS_BPF[process.arch] ?? -1;
  libc = {
    koffi,
    bpfNr,
    // attr as an address: koffi converts a uint64 faster than a typed array for `void *` (~0.3 µs a call).
    syscall: lib.func("syscall", "long", ["long", "long", "uint64_t", "unsigned long"]) as Fn,
    close: lib.func("int close(int fd)") as Fn,
    mmap: lib.func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)") as Fn,
    // The same function with the address as a number, for mappings at a chosen address (arenas).
    mmapAt: lib.func("mmap", "void *", ["uint64_t", "size_t", "int", "int", "int", "int64_t"]) as Fn,
    munmap: lib.func("int munmap(void *addr, size_t length)") as Fn,
    sysconf: lib.func("long sysconf(int name)") as Fn,
    strerror: lib.func("const char *strerror(int errnum)") as Fn,
    setns: lib.func("int setns(int fd, int nstype)") as Fn,
    ifNameToIndex: lib.func("unsigned int if_nametoindex(const char *name)") as Fn,
    setsockopt: lib.func("int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t len)") as Fn,
    socket: lib.func("int socket(int domain, int type, int protocol)") as Fn,
    // fcntl(2) is variadic; its third argument is an int for F_DUPFD_CLOEXEC, as in this prototype.
    fcntl: lib.func("int fcntl(int fd, int cmd, int arg)") as Fn,
    // ioctl(2) is variadic too; the perf event requests take an int (or nothing).
    ioctl: lib.func("int ioctl(int fd, unsigned long request, long arg)") as Fn,
    perfSyscall: lib.func("syscall", "long", ["long", "void *", "int", "int", "int", "unsigned long"]) as Fn,
    send: lib.func("long send(int fd, void *buf, size_t len, int flags)") as Fn,
    recv: lib.func("long recv(int fd, void *buf, size_t len, int flags)") as Fn,
  };
  return libc;
}

/** The koffi module (loaded on first use). */
export function koffi(): Koffi {
  return load().koffi;
}

/** Raw bpf(2): returns the result and errno (errno is meaningful only when result < 0). */
export function sysBpf(cmd: number, attr: Uint8Array): { result: number; errno: number } {
  // `attr` stays referenced by the caller until this returns (see addressOf).
  const r = sysBpfAt(cmd, addressOf(attr), attr.byteLength);
  return r >= 0 ? { result: r, errno: 0 } : { result: -1, errno: -r };
}

/** Raw bpf(2) on an attr at `address` (kept alive by the caller): the result, or minus the errno. */
export function sysBpfAt(cmd: number, address: bigint, size: number): number {
  const l = libc ?? load();
  if (l.bpfNr < 0) throw new Error(`@x/sys: no bpf(2) syscall number for architecture ${process.arch}`);
  const result = l.syscall(l.bpfNr, cmd, address, size) as number;
  return result >= 0 ? result : -l.koffi.errno();
}

/** close(2); returns errno or 0. */
export function sysClose(fd: number): number {
  const l = load();
  return (l.close(fd) as number) < 0 ? l.koffi.errno() : 0;
}

/** mmap(2) of a shared mapping; returns the pointer or the errno. */
export function sysMmap(length: number, prot: number, flags: number, fd: number): { ptr: unknown; errno: number } {
  const l = load();
  const ptr = l.mmap(null, length, prot, flags, fd, 0);
  if (ptr === null || l.koffi.address(ptr) === 0xffffffffffffffffn) return { ptr: null, errno: l.koffi.errno() };
  return { ptr, errno: 0 };
}

/** mmap(2) at `address` (a hint, or exact with MAP_FIXED / MAP_FIXED_NOREPLACE in `flags`); returns the pointer or the errno. */
export function sysMmapAt(address: bigint, length: number, prot: number, flags: number, fd: number): { ptr: unknown; errno: number } {
  const l = load();
  const ptr = l.mmapAt(address, length, prot, flags, fd, 0);
  if (ptr === null || l.koffi.address(ptr) === 0xffffffffffffffffn) return { ptr: null, errno: l.koffi.errno() };
  return { ptr, errno: 0 };
}

/** fcntl(F_DUPFD_CLOEXEC): a new descriptor of the same open file, or the errno. */
export function sysDup(fd: number): { fd: number; errno: number } {
  const l = load();
  const r = l.fcntl(fd, 1030, 0) as number; // F_DUPFD_CLOEXEC
  return r < 0 ? { fd: -1, errno: l.koffi.errno() } : { fd: r, errno: 0 };
}

/** perf_event_open(2): the fd, or -1 and the errno. */
export function sysPerfEventOpen(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number): { fd: number; errno: number } {
  const l = load();
  const nr = SYS_PERF_EVENT_OPEN[process.arch];
  if (nr === undefined) throw new Error(`@x/sys: no perf_event_open(2) syscall number for architecture ${process.arch}`);
  const fd = Number(l.perfSyscall(nr, attr, pid, cpu, groupFd, flags));
  return fd < 0 ? { fd: -1, errno: l.koffi.errno() } : { fd, errno: 0 };
}

/** ioctl(2) with an integer argument; returns errno or 0. */
export function sysIoctl(fd: number, request: number, arg: number): number {
  const l = load();
  return (l.ioctl(fd, request, arg) as number) < 0 ? l.koffi.errno() : 0;
}

/** setns(2); returns errno or 0. */
export function sysSetns(fd: number, nstype: number): number {
  const l = load();
  return (l.setns(fd, nstype) as number) < 0 ? l.koffi.errno() : 0;
}

/** if_nametoindex(3): the index, or 0 and the errno. */
export function sysIfNameToIndex(name: string): { index: number; errno: number } {
  const l = load();
  const index = l.ifNameToIndex(name) as number;
  return { index, errno: index === 0 ? l.koffi.errno() : 0 };
}

/** setsockopt(2); returns errno or 0. */
export function sysSetsockopt(fd: number, level: number, name: number, value: Uint8Array): number {
  const l = load();
  return (l.setsockopt(fd, level, name, value, value.byteLength) as number) < 0 ? l.koffi.errno() : 0;
}

const AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0o2000000, NETLINK_ROUTE = 0, SOL_NETLINK = 270, NETLINK_EXT_ACK = 11;

/**
 * One rtnetlink exchange on a socket of its own: send `msg`, then hand each datagram received to
 * `onChunk` until it returns true. Returns the errno of a failed step (0 when all went through).
 */
export function sysNetlinkRequest(msg: Uint8Array, onChunk: (chunk: Uint8Array) => boolean): { errno: number; step?: string } {
  const l = load();
  const fd = l.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE) as number;
  if (fd < 0) return { errno: l.koffi.errno(), step: "socket(AF_NETLINK)" };
  try {
    // Extended ACKs: the kernel says why it refused, in words. Kernels without them ignore nothing: best effort.
    l.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, new Uint8Array(new Int32Array([1]).buffer), 4);
    if ((l.send(fd, msg, msg.byteLength, 0) as number) < 0) return { errno: l.koffi.errno(), step: "send" };
    const buf = new Uint8Array(1 << 16);
    for (;;) {
      const n = Number(l.recv(fd, buf, buf.byteLength, 0));
      if (n < 0) {
        const errno = l.koffi.errno();
        if (errno === 4) continue; // EINTR
        return { errno, step: "recv" };
      }
      if (onChunk(buf.subarray(0, n))) return { errno: 0 };
    }
  } finally {
    l.close(fd);
  }
}

/** The address a foreign pointer holds. */
export function pointerAddress(ptr: unknown): bigint {
  return load().koffi.address(ptr);
}

/** munmap(2); returns errno or 0. */
export function sysMunmap(ptr: unknown, length: number): number {
  const l = load();
  return (l.munmap(ptr, length) as number) < 0 ? l.koffi.errno() : 0;
}

/** An ArrayBuffer over foreign memory (no copy). */
export function foreignView(ptr: unknown, length: number): ArrayBuffer {
  return load().koffi.view(ptr, length);
}

let pageSizeCache: number | undefined;
/** The system page size, from `sysconf(_SC_PAGESIZE)`. */
export function pageSize(): number {
  pageSizeCache ??= Number(load().sysconf(SC_PAGESIZE));
  return pageSizeCache;
}

/** libc's description of an errno. */
export function strerror(errno: number): string {
  try {
    return String(load().strerror(errno));
  } catch {
    return `errno ${errno}`;
  }
}

/**
 * The address of a byte array's memory, for pointer fields of `bpf_attr`. Returns 0 for
 * empty or absent arrays. The caller must keep `bytes` referenced until the syscall returns;
 * touching `.buffer` first moves V8's small on-heap arrays to stable off-heap memory.
 */
export function addressOf(bytes: Uint8Array | Int32Array | undefined | null): bigint {
  if (!bytes || bytes.byteLength === 0) return 0n;
  // Not remembered per buffer: a WeakMap entry costs more than koffi's lookup for the fresh attr arrays
  // most calls pass (~0.9 µs against ~0.1); callers that reuse a buffer keep its address themselves.
  void bytes.buffer;
  return load().koffi.address(bytes);
}

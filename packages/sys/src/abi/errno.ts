/**
 * Linux errno names (the generic numbering shared by x86_64 and aarch64), including the
 * kernel-internal values that bpf(2) is known to leak (`ENOTSUPP` 524).
 *
 * @packageDocumentation
 */

/** errno name → number. */
export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16, EEXIST: 17,
  EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25,
  ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33,
  ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36, ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40,
  ENOMSG: 42, EIDRM: 43, ENODATA: 61, ETIME: 62, ENOLINK: 67, EPROTO: 71, EBADMSG: 74, EOVERFLOW: 75,
  EBADFD: 77, EILSEQ: 84, EUSERS: 87, ENOTSOCK: 88, EDESTADDRREQ: 89, EMSGSIZE: 90, EPROTOTYPE: 91,
  ENOPROTOOPT: 92, EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, EAFNOSUPPORT: 97, EADDRINUSE: 98,
  EADDRNOTAVAIL: 99, ENETDOWN: 100, ENETUNREACH: 101, ECONNABORTED: 103, ECONNRESET: 104,
  ENOBUFS: 105, EISCONN: 106, ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111, EALREADY: 114,
  EINPROGRESS: 115, ESTALE: 116, EDQUOT: 122, ECANCELED: 125, EOWNERDEAD: 130, ENOTRECOVERABLE: 131,
  ERFKILL: 132, EHWPOISON: 133, ENOTSUPP: 524, ETOOSMALL: 525, ESERVERFAULT: 526, EBADTYPE: 527,
  EJUKEBOX: 528, EIOCBQUEUED: 529,
} as const;

/** An errno name known to {@link Errno}. */
export type ErrnoName = keyof typeof Errno;

const NAMES = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

const KERNEL_ONLY: Record<number, string> = {
  524: "Operation is not supported",
  525: "Buffer or request is too small",
  526: "An untranslatable error occurred",
  527: "Type not supported by server",
  528: "Request initiated, but will not complete before timeout",
  529: "iocb queued, will get completion event",
};

/** The name of an errno (`EPERM`), or `E<n>` when unknown. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `E${errno}`;
}

/** Descriptions of the kernel-internal errnos that libc's strerror does not know. */
export function kernelOnlyDescription(errno: number): string | undefined {
  return KERNEL_ONLY[errno];
}

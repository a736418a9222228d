/**
 * The verifier/BTF log protocol shared by `BPF_PROG_LOAD` and `BPF_BTF_LOAD`. Internal module.
 *
 * Like libbpf: try without a log first (cheap), and only on failure retry with a log buffer,
 * growing it while the kernel says the log did not fit (ENOSPC), using the exact size the
 * kernel reports (`log_true_size`, Linux 6.4+) when there is one.
 *
 * @packageDocumentation
 */
import { Errno } from "./abi/errno.js";
import { BpfSyscallError } from "./errors.js";
import { bpfRaw } from "./syscall.js";
import { decodeLog } from "./util.js";

/** Largest log buffer: `UINT32_MAX >> 8`, the limit of kernels before 5.2 (newer allow more). */
export const MAX_LOG_SIZE = 0xffffffff >>> 8;
/** First log buffer size on retry. */
export const INITIAL_LOG_SIZE = 64 * 1024;

/** How to build the attr of one attempt. */
export interface LogAttempt {
  /** Build the attr with the given log buffer (null: no log) and level. */
  encode(log: Uint8Array | null, level: number): Uint8Array;
  /** Read the kernel-reported full log size back from the attr (0 when unsupported). */
  trueSize(attr: Uint8Array): number;
}

/**
 * Run a load command with the log protocol. `level` > 0 asks for a log even on success.
 * Returns the new fd and the log (when one was collected); throws {@link BpfSyscallError}
 * with the log attached.
 */
export function loadWithLog(cmd: number, a: LogAttempt, level: number, logSize?: number): { fd: number; log?: string } {
  let firstErrno = 0;
  if (level === 0) {
    const r = bpfRaw(cmd, a.encode(null, 0));
    if (r.result >= 0) return { fd: r.result };
    firstErrno = r.errno;
    // EPERM/EFAULT/EBADF are not about the program; a log would not say more.
    if (r.errno === Errno.EPERM || r.errno === Errno.EFAULT || r.errno === Errno.EBADF) throw new BpfSyscallError(cmd, r.errno);
  }
  const lvl = level > 0 ? level : 1;
  let size = Math.min(Math.max(logSize ?? INITIAL_LOG_SIZE, 128), MAX_LOG_SIZE);
  for (;;) {
    const buf = new Uint8Array(size);
    const attr = a.encode(buf, lvl);
    const r = bpfRaw(cmd, attr);
    const log = decodeLog(buf);
    if (r.result >= 0) return { fd: r.result, log };
    if (r.errno === Errno.ENOSPC && size < MAX_LOG_SIZE) {
      const want = a.trueSize(attr);
      size = Math.min(want > size ? want : size * 2, MAX_LOG_SIZE);
      continue;
    }
    // A full buffer turns the verifier's verdict into ENOSPC; report the real reason when known.
    const errno = r.errno === Errno.ENOSPC && firstErrno !== 0 ? firstErrno : r.errno;
    const detail = r.errno === Errno.ENOSPC ? `log truncated at ${size} bytes` : undefined;
    throw new BpfSyscallError(cmd, errno, detail ? { log, detail } : { log });
  }
}

/**
 * The bpf(2) core: one call, errno mapped to {@link BpfSyscallError}.
 *
 * @packageDocumentation
 */
import { BpfCmd } from "./abi/consts.js";
import { Errno } from "./abi/errno.js";
import { BpfSyscallError } from "./errors.js";
import { sysBpf } from "./native.js";

/** Raw outcome of a bpf(2) call: `result` ≥ 0 on success, else `errno` is set. */
export interface BpfResult {
  result: number;
  errno: number;
}

/**
 * Call bpf(2) without throwing. Retries `EINTR`, and `EAGAIN` for `BPF_PROG_LOAD` up to 5
 * times (the verifier may return it under memory pressure, as libbpf knows).
 */
export function bpfRaw(cmd: number, attr: Uint8Array): BpfResult {
  let again = cmd === BpfCmd.PROG_LOAD ? 5 : 0;
  for (;;) {
    const r = sysBpf(cmd, attr);
    if (r.result >= 0) return r;
    if (r.errno === Errno.EINTR) continue;
    if (r.errno === Errno.EAGAIN && again-- > 0) continue;
    return r;
  }
}

/**
 * Call bpf(2) with command `cmd` and the encoded `attr`. The kernel may write back into
 * `attr` (e.g. `retval` of `BPF_PROG_TEST_RUN`). Returns the non-negative result (often a
 * new fd, which the caller then owns); throws {@link BpfSyscallError} on failure.
 */
export function bpf(cmd: number, attr: Uint8Array): number {
  const r = bpfRaw(cmd, attr);
  if (r.result < 0) throw new BpfSyscallError(cmd, r.errno);
  return r.result;
}

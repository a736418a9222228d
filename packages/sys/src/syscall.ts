/**
 * The bpf(2) core: one call, errno mapped to {@link BpfSyscallError}.
 *
 * @packageDocumentation
 */
import { BpfCmd } from "./abi/consts.js";
import { Errno } from "./abi/errno.js";
import { BpfSyscallError } from "./errors.js";
import { sysBpf, sysBpfAt } from "./native.js";

/** Raw outcome of a bpf(2) call: `result` ≥ 0 on success, else `errno` is set. */
export interface BpfResult {
  result: number;
  errno: number;
}

/** Counters kept by {@link enableSyscallTiming}: bpf(2) calls made and time spent inside them. */
export interface SyscallStats {
  /** bpf(2) calls made while timing was on (each retry counts). */
  calls: number;
  /** Wall-clock nanoseconds spent inside those calls, from `process.hrtime.bigint()` around each one. */
  ns: bigint;
}

let timing = false;
let statCalls = 0;
let statNs = 0n;

/**
 * Turn bpf(2) time accounting on or off (off by default). While on, every bpf(2) call made
 * through {@link bpfRaw} or {@link bpf} is counted and timed; while off the only cost is one
 * boolean test per call. Meant for benchmarks and profiling: it tells the time spent in the
 * kernel from the time spent in user space. Turning it off keeps the counters.
 */
export function enableSyscallTiming(on = true): void {
  timing = on;
}

/** A copy of the counters collected since the last {@link resetSyscallStats}. */
export function syscallStats(): SyscallStats {
  return { calls: statCalls, ns: statNs };
}

/** Zero the counters of {@link syscallStats} (whether or not timing is on). */
export function resetSyscallStats(): void {
  statCalls = 0;
  statNs = 0n;
}

function timedBpf(cmd: number, attr: Uint8Array): BpfResult {
  const t0 = process.hrtime.bigint();
  const r = sysBpf(cmd, attr);
  statNs += process.hrtime.bigint() - t0;
  statCalls++;
  return r;
}

/**
 * Call bpf(2) without throwing. Retries `EINTR`, and `EAGAIN` for `BPF_PROG_LOAD` up to 5
 * times (the verifier may return it under memory pressure, as libbpf knows).
 */
export function bpfRaw(cmd: number, attr: Uint8Array): BpfResult {
  let again = cmd === BpfCmd.PROG_LOAD ? 5 : 0;
  for (;;) {
    const r = timing ? timedBpf(cmd, attr) : sysBpf(cmd, attr);
    if (r.result >= 0) return r;
    if (r.errno === Errno.EINTR) continue;
    if (r.errno === Errno.EAGAIN && again-- > 0) continue;
    return r;
  }
}

/**
 * {@link bpfRaw} for an attr at a known `address` that the caller keeps alive (a buffer it reuses):
 * the result, or minus the errno; `EINTR` is retried. The element commands' fast path.
 */
export function bpfAt(cmd: number, address: bigint, size: number): number {
  for (;;) {
    let r: number;
    if (timing) {
      const t0 = process.hrtime.bigint();
      r = sysBpfAt(cmd, address, size);
      statNs += process.hrtime.bigint() - t0;
      statCalls++;
    } else r = sysBpfAt(cmd, address, size);
    if (r !== -Errno.EINTR) return r;
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

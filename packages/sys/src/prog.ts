/**
 * Program commands: load (with the verifier log protocol), test run, bind map.
 *
 * @packageDocumentation
 */
import { INSN_SIZE } from "@x/reloc";
import { ProgBindMapAttr, ProgLoadAttr, ProgTestRunAttr } from "./abi/attr.js";
import { BpfCmd } from "./abi/consts.js";
import { ProgFd, rawFd, type FdLike } from "./fd.js";
import { loadWithLog } from "./log.js";
import { addressOf } from "./native.js";
import { bpf } from "./syscall.js";
import { cString, LE, objName } from "./util.js";

/** `.BTF.ext` records passed to the kernel: raw bytes and the size of one record. */
export interface ExtInfo {
  /** Records, back to back. */
  bytes: Uint8Array;
  /** Size of one record (`bpf_func_info` is 8, `bpf_line_info` is 16). */
  recSize: number;
}

/** Options of {@link progLoad}. */
export interface ProgLoadOptions {
  /** Program type (see `ProgType`). */
  type: number;
  /** Instructions, 8 bytes each, host byte order. */
  insns: Uint8Array;
  /** License string, e.g. `"GPL"`. */
  license: string;
  /** Program name, at most 15 bytes (longer names are cut). */
  name?: string;
  /** Expected attach type (see `AttachType`). */
  expectedAttachType?: number;
  /** BTF id of the attach target (tracing, LSM, struct_ops, ext). */
  attachBtfId?: number;
  /** BTF object (module BTF) holding `attachBtfId`. */
  attachBtfObjFd?: FdLike;
  /** Program to attach to (freplace / fentry on a BPF program); shares a slot with `attachBtfObjFd`. */
  attachProgFd?: FdLike;
  /** BTF object the func/line info refer to. */
  progBtfFd?: FdLike;
  /** `bpf_func_info` records. */
  funcInfo?: ExtInfo;
  /** `bpf_line_info` records. */
  lineInfo?: ExtInfo;
  /** fds referenced by index from instructions (kfunc module BTFs, `BPF_PSEUDO_MAP_IDX`). */
  fdArray?: readonly FdLike[];
  /** `kern_version` (kprobes on very old kernels). */
  kernVersion?: number;
  /** `prog_flags` (see `ProgFlags`). */
  flags?: number;
  /** Device to offload to. */
  ifindex?: number;
  /**
   * Verifier log level. 0 (default): no log on success; on failure the load is retried at
   * level 1 and the log is attached to the error. > 0: always collect the log (returned as
   * `ProgFd.log`).
   */
  logLevel?: number;
  /** Initial log buffer size (default 64 KiB; grown up to 16 MiB while the kernel says ENOSPC). */
  logSize?: number;
}

function extCount(e: ExtInfo | undefined, what: string): number {
  if (!e || e.bytes.byteLength === 0) return 0;
  if (e.recSize <= 0 || e.bytes.byteLength % e.recSize !== 0) {
    throw new RangeError(`${what}: ${e.bytes.byteLength} bytes is not a multiple of the record size ${e.recSize}`);
  }
  return e.bytes.byteLength / e.recSize;
}

/**
 * `BPF_PROG_LOAD`: load a program and return its fd handle. On failure throws
 * `BpfSyscallError` with the verifier log in `.log`.
 */
export function progLoad(o: ProgLoadOptions): ProgFd {
  if (o.insns.byteLength === 0 || o.insns.byteLength % INSN_SIZE !== 0) {
    throw new RangeError(`program instructions: ${o.insns.byteLength} bytes is not a positive multiple of ${INSN_SIZE}`);
  }
  const license = cString(o.license);
  const fdArray = o.fdArray && o.fdArray.length > 0 ? Int32Array.from(o.fdArray, rawFd) : undefined;
  const funcInfoCnt = extCount(o.funcInfo, "funcInfo");
  const lineInfoCnt = extCount(o.lineInfo, "lineInfo");
  const attachFd = o.attachBtfObjFd ?? o.attachProgFd;
  const base = {
    prog_type: o.type,
    insn_cnt: o.insns.byteLength / INSN_SIZE,
    insns: addressOf(o.insns),
    license: addressOf(license),
    kern_version: o.kernVersion ?? 0,
    prog_flags: o.flags ?? 0,
    prog_name: objName(o.name),
    prog_ifindex: o.ifindex ?? 0,
    expected_attach_type: o.expectedAttachType ?? 0,
    prog_btf_fd: o.progBtfFd === undefined ? 0 : rawFd(o.progBtfFd),
    func_info_rec_size: funcInfoCnt ? o.funcInfo!.recSize : 0,
    func_info: addressOf(o.funcInfo?.bytes),
    func_info_cnt: funcInfoCnt,
    line_info_rec_size: lineInfoCnt ? o.lineInfo!.recSize : 0,
    line_info: addressOf(o.lineInfo?.bytes),
    line_info_cnt: lineInfoCnt,
    attach_btf_id: o.attachBtfId ?? 0,
    attach_btf_obj_fd: attachFd === undefined ? 0 : rawFd(attachFd),
    fd_array: addressOf(fdArray),
  };
  const { fd, log } = loadWithLog(
    BpfCmd.PROG_LOAD,
    {
      encode: (buf, level) =>
        ProgLoadAttr.encode({ ...base, log_level: buf ? level : 0, log_size: buf?.byteLength ?? 0, log_buf: addressOf(buf) }, LE),
      trueSize: (attr) => ProgLoadAttr.read(attr, 0, LE).log_true_size,
    },
    o.logLevel ?? 0,
    o.logSize,
  );
  // Keep the memory the attr points at reachable until here.
  void [license, fdArray, o.insns, o.funcInfo, o.lineInfo];
  const h = new ProgFd(fd);
  if (log !== undefined && (o.logLevel ?? 0) > 0) h.log = log;
  return h;
}

/** Options of {@link progTestRun}. */
export interface ProgTestRunOptions {
  /** Input packet / data. */
  data?: Uint8Array;
  /** Size of the output data buffer (default: input size + 256 when there is input, else 0). */
  dataSizeOut?: number;
  /** Input context (e.g. `struct __sk_buff`, `struct xdp_md`). */
  ctx?: Uint8Array;
  /** Size of the output context buffer (default: the input context size). */
  ctxSizeOut?: number;
  /** Number of runs (duration is averaged). Default 1. */
  repeat?: number;
  /** `flags` (see `TestRunFlags`). */
  flags?: number;
  /** CPU to run on (with `BPF_F_TEST_RUN_ON_CPU`). */
  cpu?: number;
  /** Batch size (XDP live frames). */
  batchSize?: number;
}

/** Result of {@link progTestRun}. */
export interface ProgTestRunResult {
  /** The program's return value (`r0`), as unsigned 32-bit. */
  retval: number;
  /** Average run time in nanoseconds. */
  duration: number;
  /** Output data (trimmed to what the kernel wrote), when an output buffer was given. */
  dataOut?: Uint8Array;
  /** Output context, when an output context buffer was given. */
  ctxOut?: Uint8Array;
}

/** `BPF_PROG_TEST_RUN`: run a program once (or `repeat` times) on the given input. */
export function progTestRun(prog: FdLike, o: ProgTestRunOptions = {}): ProgTestRunResult {
  const dataSizeOut = o.dataSizeOut ?? (o.data && o.data.byteLength > 0 ? o.data.byteLength + 256 : 0);
  const ctxSizeOut = o.ctxSizeOut ?? (o.ctx?.byteLength ?? 0);
  const dataOut = dataSizeOut > 0 ? new Uint8Array(dataSizeOut) : undefined;
  const ctxOut = ctxSizeOut > 0 ? new Uint8Array(ctxSizeOut) : undefined;
  const attr = ProgTestRunAttr.encode(
    {
      prog_fd: rawFd(prog),
      data_size_in: o.data?.byteLength ?? 0,
      data_size_out: dataSizeOut,
      data_in: addressOf(o.data),
      data_out: addressOf(dataOut),
      repeat: o.repeat ?? 1,
      ctx_size_in: o.ctx?.byteLength ?? 0,
      ctx_size_out: ctxSizeOut,
      ctx_in: addressOf(o.ctx),
      ctx_out: addressOf(ctxOut),
      flags: o.flags ?? 0,
      cpu: o.cpu ?? 0,
      batch_size: o.batchSize ?? 0,
    },
    LE,
  );
  bpf(BpfCmd.PROG_TEST_RUN, attr);
  const r = ProgTestRunAttr.read(attr, 0, LE);
  const out: ProgTestRunResult = { retval: r.retval, duration: r.duration };
  if (dataOut) out.dataOut = dataOut.subarray(0, Math.min(r.data_size_out, dataOut.byteLength));
  if (ctxOut) out.ctxOut = ctxOut.subarray(0, Math.min(r.ctx_size_out, ctxOut.byteLength));
  void [o.data, o.ctx];
  return out;
}

/** `BPF_PROG_BIND_MAP` (Linux 5.10): keep `map` alive as long as `prog` is (metadata maps). */
export function progBindMap(prog: FdLike, map: FdLike, flags = 0): void {
  bpf(BpfCmd.PROG_BIND_MAP, ProgBindMapAttr.encode({ prog_fd: rawFd(prog), map_fd: rawFd(map), flags }, LE));
}

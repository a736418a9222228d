/**
 * `BPF_BTF_LOAD`.
 *
 * @packageDocumentation
 */
import { BtfLoadAttr } from "./abi/attr.js";
import { BpfCmd } from "./abi/consts.js";
import { BtfFd } from "./fd.js";
import { loadWithLog } from "./log.js";
import { addressOf } from "./native.js";
import { LE } from "./util.js";

/** Options of {@link btfLoad}. */
export interface BtfLoadOptions {
  /** Log level. 0 (default): a log only on failure (attached to the error); > 0: always (as `BtfFd.log`). */
  logLevel?: number;
  /** Initial log buffer size (default 64 KiB, grown while the kernel says ENOSPC). */
  logSize?: number;
}

/** `BPF_BTF_LOAD`: load raw BTF (header, types, strings) and return its fd handle. */
export function btfLoad(bytes: Uint8Array, o: BtfLoadOptions = {}): BtfFd {
  const { fd, log } = loadWithLog(
    BpfCmd.BTF_LOAD,
    {
      encode: (buf, level) =>
        BtfLoadAttr.encode(
          {
            btf: addressOf(bytes),
            btf_size: bytes.byteLength,
            btf_log_buf: addressOf(buf),
            btf_log_size: buf?.byteLength ?? 0,
            btf_log_level: buf ? level : 0,
          },
          LE,
        ),
      trueSize: (attr) => BtfLoadAttr.read(attr, 0, LE).btf_log_true_size,
    },
    o.logLevel ?? 0,
    o.logSize,
  );
  void bytes;
  const h = new BtfFd(fd);
  if (log !== undefined && (o.logLevel ?? 0) > 0) h.log = log;
  return h;
}

/**
 * Perf events for probe attachments: tracepoints, kprobes and uprobes opened with perf_event_open(2),
 * then attached with a perf link (Linux 5.15, `linkCreate` with `AttachType.PERF_EVENT`) or, before,
 * with `PERF_EVENT_IOC_SET_BPF` ({@link perfEventSetBpf}).
 *
 * @packageDocumentation
 */
import { existsSync, readFileSync } from "node:fs";
import { XError } from "@x/elf";
import { errnoName } from "./abi/errno.js";
import { Perf, PerfEventAttr } from "./abi/perf.js";
import { BpfFd, rawFd, type FdLike } from "./fd.js";
import { addressOf, strerror, sysIoctl, sysPerfEventOpen } from "./native.js";
import { cString, LE } from "./util.js";

/** Stable codes of {@link PerfEventError}. */
export type PerfEventErrorCode =
  /** The event does not exist here: no tracefs, no such tracepoint, no kprobe/uprobe PMU. */
  | "PERF_EVENT_UNAVAILABLE"
  /** perf_event_open(2) or its ioctl failed (`errnoName`). */
  | "PERF_EVENT_FAILED";

/** A perf event that cannot be opened or attached. */
export class PerfEventError extends XError<PerfEventErrorCode> {
  /** errno name, for `PERF_EVENT_FAILED`. */
  readonly errnoName?: string;
  constructor(code: PerfEventErrorCode, message: string, errno?: number) {
    super(code, errno === undefined ? message : `${message}: ${errnoName(errno)} (${strerror(errno)})`);
    if (errno !== undefined) this.errnoName = errnoName(errno);
  }
}

/** An owned perf event fd. */
export class PerfEventFd extends BpfFd {
  /** Take ownership of a perf event fd. */
  constructor(fd: number) {
    super(fd, "perf_event");
  }
}

const TRACEFS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/** Where tracefs is mounted (its `events/` is there), or undefined. */
export function tracefsRoot(): string | undefined {
  return TRACEFS.find((d) => existsSync(`${d}/events`));
}

/** The id of tracepoint `category/name` (`events/CATEGORY/NAME/id` of tracefs). */
export function tracepointId(category: string, name: string): number {
  const root = tracefsRoot();
  if (!root) throw new PerfEventError("PERF_EVENT_UNAVAILABLE", `no tracefs (looked in ${TRACEFS.join(" and ")}; mount -t tracefs tracefs /sys/kernel/tracing)`);
  const path = `${root}/events/${category}/${name}/id`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new PerfEventError("PERF_EVENT_UNAVAILABLE", `no tracepoint ${category}/${name} on this kernel (no ${path})`);
  }
  return Number(text.trim());
}

/** A dynamic PMU (`kprobe`, `uprobe`): its perf type, and the config bit of its `retprobe` format. */
export function probePmu(name: "kprobe" | "uprobe"): { type: number; retprobeBit: number } {
  const dir = `/sys/bus/event_source/devices/${name}`;
  let type: number;
  try {
    type = Number(readFileSync(`${dir}/type`, "utf8").trim());
  } catch {
    throw new PerfEventError("PERF_EVENT_UNAVAILABLE", `this kernel has no ${name} PMU (no ${dir}: ${name === "kprobe" ? "CONFIG_KPROBE_EVENTS" : "CONFIG_UPROBE_EVENTS"}, Linux 4.17)`);
  }
  let retprobeBit = 0;
  try {
    const m = /^config:(\d+)/.exec(readFileSync(`${dir}/format/retprobe`, "utf8").trim());
    if (m) retprobeBit = Number(m[1]);
  } catch {
    // no retprobe format: bit 0, as libbpf assumes
  }
  return { type, retprobeBit };
}

function open(what: string, fields: { type: number; config: bigint; config1?: bigint; config2?: bigint }, pid = -1): PerfEventFd {
  const attr = PerfEventAttr.encode({ ...fields, size: Perf.PERF_ATTR_SIZE_VER5, sample_period: 1n, wakeup_events: 1 }, LE);
  // All processes on CPU 0 for a system-wide probe (the program runs on every CPU); one process, any CPU.
  const r = sysPerfEventOpen(attr, pid, pid === -1 ? 0 : -1, -1, Perf.PERF_FLAG_FD_CLOEXEC);
  if (r.errno) throw new PerfEventError("PERF_EVENT_FAILED", `perf_event_open of ${what} failed`, r.errno);
  return new PerfEventFd(r.fd);
}

/** A perf event on tracepoint `category/name`. */
export function openTracepointEvent(category: string, name: string): PerfEventFd {
  return open(`tracepoint ${category}/${name}`, { type: Perf.PERF_TYPE_TRACEPOINT, config: BigInt(tracepointId(category, name)) });
}

/** A kprobe (or, with `retprobe`, a kretprobe) event on kernel function `fn` (+ `offset`), through the kprobe PMU. */
export function openKprobeEvent(fn: string, o: { readonly offset?: bigint; readonly retprobe?: boolean } = {}): PerfEventFd {
  const pmu = probePmu("kprobe");
  const name = cString(fn);
  try {
    return open(`${o.retprobe ? "kretprobe" : "kprobe"} ${fn}`, { type: pmu.type, config: o.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n, config1: addressOf(name), config2: o.offset ?? 0n });
  } finally {
    void name;
  }
}

/** A uprobe (or uretprobe) event at file offset `offset` of the ELF file `path`, for process `pid` (default: all). */
export function openUprobeEvent(path: string, offset: bigint, o: { readonly retprobe?: boolean; readonly pid?: number } = {}): PerfEventFd {
  const pmu = probePmu("uprobe");
  const file = cString(path);
  try {
    return open(`${o.retprobe ? "uretprobe" : "uprobe"} ${path}+0x${offset.toString(16)}`, { type: pmu.type, config: o.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n, config1: addressOf(file), config2: offset }, o.pid ?? -1);
  } finally {
    void file;
  }
}

/** Before perf links (5.15): run `prog` on the event (`PERF_EVENT_IOC_SET_BPF`) and enable it; it lasts while the event's fd is open. */
export function perfEventSetBpf(event: FdLike, prog: FdLike): void {
  let errno = sysIoctl(rawFd(event), Perf.PERF_EVENT_IOC_SET_BPF, rawFd(prog));
  if (errno) throw new PerfEventError("PERF_EVENT_FAILED", "PERF_EVENT_IOC_SET_BPF failed", errno);
  errno = sysIoctl(rawFd(event), Perf.PERF_EVENT_IOC_ENABLE, 0);
  if (errno) throw new PerfEventError("PERF_EVENT_FAILED", "PERF_EVENT_IOC_ENABLE failed", errno);
}

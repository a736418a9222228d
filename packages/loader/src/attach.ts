/**
 * Attaching loaded programs: {@link attachProgram} (or `LoadedProgram.attach`) resolves an attach point
 * and makes the attachment through the newest mechanism the kernel has: a bpf {@link Link} where there
 * is one, netlink, `BPF_PROG_ATTACH`, a socket option or a perf event ioctl before. Every kind is an
 * {@link Attachment}: pinned, updated atomically while the expected program runs, detached.
 */
import { closeSync, constants, openSync } from "node:fs";
import {
  AttachFlags, AttachType, BpfSyscallError, compareKernelVersions, dupFd, enterNetns, FEATURES, hasFeature, interfaceIndex, kernelVersion, linkCreate, type LinkFd,
  type LinkInfo, ProgFd, ProgType, rawTracepointOpen, SyscallError, UnsupportedFeatureError, XdpFlags,
} from "@x/sys";
import type { ErrorLocation } from "@x/elf";
import { AttachError } from "./errors.js";
import { CgroupAttachment, SocketFilterAttachment } from "./fd-attachments.js";
import { attachError, Link, type LinkKind } from "./link.js";
import { NetlinkAttachment } from "./netlink-attachment.js";
import { attachProbe } from "./perf-attachment.js";
import { probeOfSection, uprobeOf, type UprobeOptions } from "./probe-points.js";
import type { KernelFd } from "./load/kernel.js";

export { Link, linkKind, openPinnedLink, type LinkKind } from "./link.js";

/** An interface by name or index, looked up in `netns` when given (a name from `ip netns`, or a path). */
export interface InterfaceRef {
  /** The interface: its name (`eth0`) or index. */
  readonly interface: string | number;
  /** The network namespace it is in (default: this process's). */
  readonly netns?: string;
}

/**
 * How an attachment is made. tc and XDP (default: a tcx or XDP link when the kernel has it, else
 * netlink): `link` only (`UnsupportedFeatureError` on kernels without), or `netlink` always (to share
 * an interface with tools that manage tc filters or XDP through netlink, as iproute2 does). cgroups
 * (default: a cgroup link from 5.7, else `BPF_PROG_ATTACH`): `link` or `prog_attach`. `prog_attach` is
 * also what socket filters report.
 */
export type AttachVia = "link" | "netlink" | "prog_attach";

/** A program in a tcx chain, by its fd (a `LoadedProgram`) or its kernel id. */
export type ChainAnchor = KernelFd | { readonly id: number };

/** Where to attach a program. Exactly one key. */
export type AttachPoint =
  /** XDP on an interface, through an XDP link (Linux 5.9; netlink before); `mode` forces generic (skb), driver or offload mode. */
  | { readonly xdp: InterfaceRef & { readonly mode?: "generic" | "driver" | "offload"; readonly via?: AttachVia } }
  /**
   * tc on an interface's ingress or egress: through a tcx link (Linux 6.6), first in the chain unless
   * `before`/`after` say otherwise; on older kernels as a direct-action cls_bpf filter on a clsact
   * qdisc, at `handle` and `priority` (default 1 and 1).
   */
  | { readonly tc: InterfaceRef & { readonly direction: "ingress" | "egress"; readonly before?: ChainAnchor; readonly after?: ChainAnchor; readonly handle?: number; readonly priority?: number; readonly via?: AttachVia } }
  /**
   * A cgroup (v2 directory), for the attach type the program was loaded for (or `attachType`): through a
   * cgroup link (5.7), else `BPF_PROG_ATTACH` with `BPF_F_ALLOW_MULTI` (updated with `BPF_F_REPLACE`).
   */
  | { readonly cgroup: { readonly path: string; readonly attachType?: number; readonly via?: "link" | "prog_attach" } }
  /** A socket, by its fd (`SO_ATTACH_BPF`): socket filter programs. */
  | { readonly socket: { readonly fd: number } }
  /** A network namespace (sk_lookup, flow dissector), through a netns link (5.8). */
  | { readonly netns: { readonly path: string } }
  /**
   * Where the program was loaded for: fentry/fexit/fmod_ret, tp_btf, lsm and freplace targets, iterators,
   * or a raw tracepoint (`tracepoint`, default: the section's name after `raw_tp/`).
   */
  | { readonly tracing: true | { readonly tracepoint?: string } }
  /** A tracepoint (`CATEGORY/NAME`; `true`: the section's, `tracepoint/CATEGORY/NAME`), through a perf event. */
  | { readonly tracepoint: true | string }
  /**
   * A kprobe on a kernel function (`true`: the section's, `kprobe/FUNC`, `kretprobe/FUNC`, `ksyscall/NAME`),
   * a kretprobe with `retprobe`; through a perf event of the kprobe PMU.
   */
  | { readonly kprobe: true | { readonly function?: string; readonly offset?: number | bigint; readonly retprobe?: boolean } }
  /**
   * A uprobe on `function` (+ `offset`) of ELF executable or library `path`, or at file offset `offset`
   * (a uretprobe with `retprobe`), for process `pid` or all; `true`: the section's, `uprobe/PATH:FUNC[+OFF]`.
   * A `path` without a `/` is a library, looked for where the dynamic linker looks by default.
   */
  | { readonly uprobe: true | { readonly path?: string; readonly function?: string; readonly offset?: number | bigint; readonly retprobe?: boolean; readonly pid?: number } };

/** A program that {@link attachProgram} can attach (a `LoadedProgram`, or any program fd with its type). */
export interface AttachableProgram {
  readonly fd: KernelFd;
  readonly name: string;
  /** The program type, and the attach type and target it was loaded for (from its section). */
  readonly spec: { readonly kind?: { readonly progType: number; readonly attachType?: number; readonly attachTarget?: string; readonly section: string } };
}

/**
 * A program attached somewhere: a {@link Link}, or on kernels without the link type a netlink
 * attachment (tc filter, XDP) with the same contract. Dispose it to end the attachment, unless pinned.
 */
export interface Attachment extends Disposable {
  /** What it attaches to. */
  readonly kind: LinkKind;
  /** Through a bpf link, or through netlink (tc filters and XDP on kernels without their links). */
  readonly via: AttachVia;
  /** Where it is pinned, if it is. */
  readonly pinPath: string | undefined;
  /** The id of the program this handle expects to be running (see {@link Attachment.update}). */
  readonly programId: number | undefined;
  /** Kernel info (a netlink attachment has link id 0 and names its interface). */
  info(): LinkInfo;
  /** The id of the program running there now (0: none). */
  runningProgramId(): number;
  /** Atomically run `program` instead, only while the expected program runs (`ATTACH_REPLACED` otherwise). */
  update(program: AttachableProgram | KernelFd, options?: { readonly expected?: KernelFd }): void;
  /** Keep the attachment after this handle closes, pinned at `path`. */
  pin(path: string): void;
  /** Remove the pin. */
  unpin(): void;
  /** End the attachment now, remove its pin, close the handle. */
  detach(): void;
  /** Close the handle (the attachment ends with it unless pinned). */
  close(): void;
}

/** Program types each attach point takes. */
const POINT_TYPES = {
  xdp: [ProgType.XDP],
  tc: [ProgType.SCHED_CLS],
  cgroup: [ProgType.CGROUP_SKB, ProgType.CGROUP_SOCK, ProgType.CGROUP_SOCK_ADDR, ProgType.CGROUP_SOCKOPT, ProgType.CGROUP_SYSCTL, ProgType.CGROUP_DEVICE, ProgType.SOCK_OPS, ProgType.LSM],
  netns: [ProgType.SK_LOOKUP, ProgType.FLOW_DISSECTOR],
  socket: [ProgType.SOCKET_FILTER],
  tracing: [ProgType.TRACING, ProgType.LSM, ProgType.EXT, ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE, ProgType.KPROBE, ProgType.TRACEPOINT],
  tracepoint: [ProgType.TRACEPOINT],
  kprobe: [ProgType.KPROBE],
  uprobe: [ProgType.KPROBE],
} as const;

/**
 * Attach `program` at `point`. The returned {@link Attachment} owns it: dispose it to end it, or pin
 * it to keep it. Throws {@link AttachError} (the kernel's refusal, or a point that does not suit the
 * program) or `UnsupportedFeatureError` when the kernel has no link for this point.
 */
export function attachProgram(program: AttachableProgram, point: AttachPoint): Attachment {
  const where: ErrorLocation = { program: program.name };
  const key = Object.keys(point)[0] as keyof typeof POINT_TYPES;
  const kind = program.spec.kind;
  if (!kind) throw new AttachError("ATTACH_BAD_POINT", `program '${program.name}' has no known type (section), so it cannot be attached`, where);
  const types = POINT_TYPES[key] as readonly number[] | undefined;
  if (!types) throw new AttachError("ATTACH_BAD_POINT", `unknown attach point '${String(key)}' (expected one of ${Object.keys(POINT_TYPES).join(", ")})`, where);
  if (!types.includes(kind.progType)) {
    throw new AttachError("ATTACH_BAD_POINT", `program '${program.name}' (section ${kind.section}) cannot be attached to ${key}: that takes ${key === "tracing" ? "tracing, lsm, freplace, raw tracepoint, kprobe and tracepoint" : key === "uprobe" ? "kprobe-type (uprobe)" : key} programs`, where);
  }
  const own = (fd: LinkFd, linkKind: LinkKind) => {
    try {
      return new Link(fd, linkKind, new ProgFd(dupFd(program.fd)));
    } catch (e) {
      fd.close();
      throw attachError(e, `program '${program.name}' attached, but the link's handle could not keep a descriptor of it`, where);
    }
  };
  const p = point as Record<string, unknown>;
  switch (key) {
    case "xdp": {
      const x = p.xdp as InterfaceRef & { mode?: "generic" | "driver" | "offload"; via?: AttachVia };
      const flags = x.mode === "generic" ? XdpFlags.XDP_FLAGS_SKB_MODE : x.mode === "driver" ? XdpFlags.XDP_FLAGS_DRV_MODE : x.mode === "offload" ? XdpFlags.XDP_FLAGS_HW_MODE : 0;
      return onInterface(x, where, (ifindex) => {
        if (x.via === "netlink") return NetlinkAttachment.xdp(program, ifindex, flags, x.netns);
        try {
          return own(create(program, { target: ifindex, attachType: AttachType.XDP, flags }, `XDP on ${describe(x)}`, where, "5.9", "xdp_link"), "xdp");
        } catch (e) {
          // Before XDP links (5.9): the interface's XDP program, set through netlink.
          if (!(e instanceof UnsupportedFeatureError) || x.via === "link") throw e;
          return NetlinkAttachment.xdp(program, ifindex, flags, x.netns);
        }
      });
    }
    case "tc": {
      const t = p.tc as InterfaceRef & { direction: "ingress" | "egress"; before?: ChainAnchor; after?: ChainAnchor; handle?: number; priority?: number; via?: AttachVia };
      if (t.direction !== "ingress" && t.direction !== "egress") throw new AttachError("ATTACH_BAD_POINT", `tc direction must be ingress or egress, not '${String(t.direction)}'`, where);
      const tcx = hasFeature("tcx_link");
      if (t.via === "netlink" || (t.via !== "link" && !tcx)) {
        // Before tcx (6.6): a direct-action cls_bpf filter on the interface's clsact qdisc.
        if (t.before || t.after) {
          if (t.via === "netlink") throw new AttachError("ATTACH_BAD_POINT", "before/after order a tcx chain; a netlink filter is placed by handle and priority", where);
          throw new UnsupportedFeatureError("tcx_link", FEATURES.tcx_link.minKernel, `${FEATURES.tcx_link.description}: before/after ordering needs it (a netlink filter is placed by handle and priority)`);
        }
        return onInterface(t, where, (ifindex) => NetlinkAttachment.tc(program, { ifindex, direction: t.direction, handle: t.handle ?? 1, priority: t.priority ?? 1 }, t.netns));
      }
      if (!tcx) throw new UnsupportedFeatureError("tcx_link", FEATURES.tcx_link.minKernel, FEATURES.tcx_link.description);
      const anchor = t.before ?? t.after;
      let flags = t.before ? AttachFlags.BPF_F_BEFORE : t.after ? AttachFlags.BPF_F_AFTER : 0;
      let relative: number | KernelFd | undefined;
      if (anchor) {
        if ("id" in anchor && !("fd" in anchor)) {
          flags |= AttachFlags.BPF_F_ID;
          relative = anchor.id;
        } else relative = anchor as KernelFd;
      }
      const attachType = t.direction === "ingress" ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS;
      return own(onInterface(t, where, (ifindex) => create(program, { target: ifindex, attachType, flags, ...(relative === undefined ? {} : { relative }) }, `tc ${t.direction} of ${describe(t)}`, where)), "tcx");
    }
    case "cgroup": {
      const c = p.cgroup as { path: string; attachType?: number; via?: "link" | "prog_attach" };
      const attachType = c.attachType ?? kind.attachType;
      if (attachType === undefined) throw new AttachError("ATTACH_BAD_POINT", `program '${program.name}' (section ${kind.section}) has no cgroup attach type: give attachType`, where);
      if (c.via === "prog_attach" || (c.via !== "link" && !hasFeature("bpf_link"))) return CgroupAttachment.attach(program, c.path, attachType, where);
      return own(withDirectory(c.path, "cgroup", where, (fd) => create(program, { target: fd, attachType }, `cgroup ${c.path}`, where, "5.7", "bpf_link")), "cgroup");
    }
    case "socket": {
      const k = p.socket as { fd: number };
      return SocketFilterAttachment.attach(program, k.fd, where);
    }
    case "netns": {
      const n = p.netns as { path: string };
      const attachType = kind.progType === ProgType.SK_LOOKUP ? AttachType.SK_LOOKUP : AttachType.FLOW_DISSECTOR;
      return own(withDirectory(n.path, "network namespace", where, (fd) => create(program, { target: fd, attachType }, `network namespace ${n.path}`, where, "5.8")), "netns");
    }
    case "tracepoint":
    case "kprobe":
      return attachProbe(program, probeOfSection(kind, program.name, where, p), where);
    case "uprobe":
      return attachProbe(program, uprobeOf(kind, program.name, p.uprobe as true | UprobeOptions, where), where);
    default: {
      const t = p.tracing as true | { tracepoint?: string };
      if (kind.progType === ProgType.KPROBE && /^u(ret)?probe/.test(kind.section)) return attachProbe(program, uprobeOf(kind, program.name, true, where), where);
      if (kind.progType === ProgType.KPROBE || kind.progType === ProgType.TRACEPOINT) return attachProbe(program, probeOfSection(kind, program.name, where), where);
      if (kind.progType === ProgType.RAW_TRACEPOINT || kind.progType === ProgType.RAW_TRACEPOINT_WRITABLE) {
        const name = (t === true ? undefined : t.tracepoint) ?? kind.attachTarget ?? kind.section.split("/")[1];
        if (!name) throw new AttachError("ATTACH_BAD_POINT", `raw tracepoint program '${program.name}' (section ${kind.section}) names no tracepoint: give tracing.tracepoint`, where);
        return own(kernelCall(() => rawTracepointOpen(program.fd, name), `raw tracepoint ${name}`, where), "raw_tracepoint");
      }
      if (kind.attachType === AttachType.TRACE_ITER) return own(create(program, { target: 0, attachType: AttachType.TRACE_ITER }, "an iterator", where), "iter");
      return own(kernelCall(() => rawTracepointOpen(program.fd), `its target (${kind.section})`, where), "tracing");
    }
  }
}

function describe(x: InterfaceRef): string {
  return `${typeof x.interface === "number" ? `ifindex ${x.interface}` : x.interface}${x.netns ? ` in netns ${x.netns}` : ""}`;
}

/** Run `fn` with the interface's index, inside its namespace when it names one (ifindexes are per namespace, and so is the link's lookup). */
function onInterface<T>(x: InterfaceRef, where: ErrorLocation, fn: (ifindex: number) => T): T {
  let ns: Disposable | undefined;
  try {
    ns = x.netns ? enterNetns(x.netns) : undefined;
  } catch (e) {
    throw new AttachError("ATTACH_BAD_POINT", `cannot enter network namespace ${x.netns}: ${(e as Error).message}`, where, { cause: e });
  }
  try {
    let ifindex: number;
    try {
      ifindex = typeof x.interface === "number" ? x.interface : interfaceIndex(x.interface);
    } catch (e) {
      throw new AttachError("ATTACH_BAD_POINT", `no interface ${describe(x)}`, { ...where, errnoName: e instanceof SyscallError ? e.errnoName : undefined }, { cause: e });
    }
    return fn(ifindex);
  } finally {
    ns?.[Symbol.dispose]();
  }
}

/** Open a directory (a cgroup, a namespace file) for as long as `fn` runs. */
function withDirectory<T>(path: string, what: string, where: ErrorLocation, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (e) {
    throw new AttachError("ATTACH_BAD_POINT", `cannot open ${what} ${path}: ${(e as Error).message}`, where, { cause: e });
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

function create(program: AttachableProgram, o: Parameters<typeof linkCreate>[1], what: string, where: ErrorLocation, minKernel?: string, feature?: string): LinkFd {
  return kernelCall(() => linkCreate(program.fd, o), what, where, minKernel, feature);
}

/** A kernel attach call, its refusal explained: a kernel older than the link type's is an UnsupportedFeatureError. */
function kernelCall(fn: () => LinkFd, what: string, where: ErrorLocation, minKernel?: string, feature = "bpf_link"): LinkFd {
  try {
    return fn();
  } catch (e) {
    if (minKernel && e instanceof BpfSyscallError && e.errnoName === "EINVAL" && compareKernelVersions(kernelVersion(), minKernel) < 0) {
      throw new UnsupportedFeatureError(feature, minKernel, `no bpf_link for ${what} before Linux ${minKernel} (BPF_LINK_CREATE answered EINVAL)`);
    }
    const hint = e instanceof BpfSyscallError && e.errnoName === "EBUSY" ? ": something else is attached there already (not through a link, or exclusively)" : e instanceof BpfSyscallError && e.errnoName === "EEXIST" ? ": this program is attached there already" : "";
    throw attachError(e, `cannot attach program '${where.program}' to ${what}${hint}`, where);
  }
}


/**
 * Attaching loaded programs: a {@link Link} per attachment, created by {@link attachProgram} (or
 * `LoadedProgram.attach`) through the newest mechanism the kernel has, and updated in place with
 * `BPF_LINK_UPDATE` + `BPF_F_REPLACE` so a concurrent replacement fails instead of being lost.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import {
  AttachFlags, AttachType, BpfSyscallError, compareKernelVersions, enterNetns, hasFeature, interfaceIndex, kernelVersion, linkCreate, linkDetach, linkInfo,
  LinkFd, type LinkInfo, LinkType, objGet, objPin, ProgFd, progGetFdById, dupFd, progInfo, ProgType, rawTracepointOpen, SyscallError, UnsupportedFeatureError, XdpFlags,
  FEATURES, linkUpdate, MapFd,
} from "@x/sys";
import { type ErrorLocation, functionFileOffset } from "@x/elf";
import { AttachError } from "./errors.js";
import { attachmentFromMap, isAttachmentMap, NetlinkAttachment } from "./netlink-attachment.js";
import { attachProbe, type ProbeEvent } from "./perf-attachment.js";
import { CgroupAttachment, SocketFilterAttachment } from "./fd-attachments.js";
import type { KernelFd } from "./load/kernel.js";

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

/** What a link attaches to, by `enum bpf_link_type`; `tc` (and `xdp`) for a netlink attachment of a kernel without such links. */
export type LinkKind = "tc" | "socket" | "raw_tracepoint" | "tracing" | "cgroup" | "iter" | "netns" | "xdp" | "perf_event" | "kprobe_multi" | "struct_ops" | "netfilter" | "tcx" | "uprobe_multi" | "netkit" | "sockmap" | "unknown";

const KIND_BY_TYPE: Readonly<Record<number, LinkKind>> = Object.fromEntries(
  Object.entries(LinkType).filter(([k]) => k !== "UNSPEC").map(([k, v]) => [v, k.toLowerCase() as LinkKind]),
);

/** The kind of a link of `enum bpf_link_type` `type`. */
export function linkKind(type: number): LinkKind {
  return KIND_BY_TYPE[type] ?? "unknown";
}

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

/**
 * An attachment through a bpf_link. Disposing the handle closes its fds: the attachment ends then,
 * unless the link is pinned ({@link Link.pin}), and then it lasts until {@link Link.detach} or the pin
 * is removed. The handle keeps an fd of the program it attached, so {@link Link.update} can insist that
 * it is still the one running.
 */
export class Link implements Attachment {
  readonly #fd: LinkFd;
  #program: ProgFd | undefined;
  /** Where the link is pinned, if it is. */
  pinPath: string | undefined;
  /** What it attaches to. */
  readonly kind: LinkKind;
  readonly via = "link";

  /** @internal Takes ownership of both fds. */
  constructor(fd: LinkFd, kind: LinkKind, program: ProgFd | undefined, pinPath?: string) {
    this.#fd = fd;
    this.kind = kind;
    this.#program = program;
    this.pinPath = pinPath;
  }

  /** The link's fd. */
  get fd(): number {
    return this.#fd.fd;
  }

  /** Kernel info: id, type, program id, and what it is attached to. */
  info(): LinkInfo {
    return linkInfo(this.#fd);
  }

  /** The link's kernel id. */
  get id(): number {
    return this.info().id;
  }

  /** The id of the program the link runs now. */
  runningProgramId(): number {
    return this.info().progId;
  }

  /** The id of the program this handle attached (or found attached, for an opened pin), which {@link update} expects to replace. */
  get programId(): number | undefined {
    return this.#program ? progInfo(this.#program).id : undefined;
  }

  /** Pin the link at `path` on a bpffs: the attachment then outlives this process. */
  pin(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    try {
      objPin(this.#fd, path);
    } catch (e) {
      throw attachError(e, `cannot pin link at ${path}`);
    }
    this.pinPath = path;
  }

  /** Remove the pin (the attachment lasts as long as this handle, then). */
  unpin(): void {
    if (this.pinPath) rmSync(this.pinPath, { force: true });
    this.pinPath = undefined;
  }

  /**
   * Atomically make the link run `program` instead (`BPF_LINK_UPDATE`): every event is seen by the old
   * program or the new one, never both or neither. With `BPF_F_REPLACE` the kernel does it only while
   * the program this handle attached is still the one running (or `expected`, when given); otherwise
   * nothing changes and {@link AttachError} `ATTACH_REPLACED` says who runs instead.
   */
  update(program: AttachableProgram | KernelFd, options: { readonly expected?: KernelFd } = {}): void {
    const fd = "spec" in program ? program.fd : program;
    const expected = options.expected ?? this.#program;
    try {
      linkUpdate(this.#fd, fd, expected);
    } catch (e) {
      if (e instanceof BpfSyscallError && e.errnoName === "EPERM" && expected) {
        const running = this.info().progId;
        const wanted = progInfo(expected).id;
        if (running !== wanted) {
          throw new AttachError("ATTACH_REPLACED", `link ${this.id} runs program ${running}, not program ${wanted} this handle expected: it was replaced meanwhile, and is left as it is`, { command: e.command, errnoName: e.errnoName }, { cause: e });
        }
      }
      if (e instanceof BpfSyscallError && (e.errnoName === "EOPNOTSUPP" || e.errnoName === "ENOTSUPP")) {
        throw new AttachError("ATTACH_FAILED", `${this.kind} links cannot run another program (BPF_LINK_UPDATE: ${e.errnoName}); attach the new program and close this link instead`, { command: e.command, errnoName: e.errnoName }, { cause: e });
      }
      throw attachError(e, `cannot update link ${this.safeId()}`);
    }
    const next = new ProgFd(dupFd(fd));
    this.#program?.close();
    this.#program = next;
  }

  /**
   * End the attachment now (`BPF_LINK_DETACH`, 5.9; for link types that cannot detach, or older
   * kernels, by removing the pin and closing), remove the pin, and close the handle.
   */
  detach(): void {
    try {
      linkDetach(this.#fd);
    } catch (e) {
      const tolerated = e instanceof BpfSyscallError && ["EOPNOTSUPP", "ENOTSUPP", "EINVAL"].includes(e.errnoName);
      if (!tolerated) throw attachError(e, `cannot detach link ${this.safeId()}`);
    }
    this.unpin();
    this.close();
  }

  /** Close the handle's fds (the attachment ends unless pinned). Idempotent. */
  close(): void {
    this.#program?.close();
    this.#program = undefined;
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private safeId(): string {
    try {
      return String(this.id);
    } catch {
      return `fd ${this.#fd}`;
    }
  }
}

/**
 * Open the attachment pinned at `path`: a link (pinned by @x, bpftool or libbpf), or the description
 * of a netlink attachment that {@link Attachment.pin} left there. The handle expects the program
 * running now on update.
 */
export function openPinnedLink(path: string): Attachment {
  let fd: ReturnType<typeof objGet>;
  try {
    fd = objGet(path);
  } catch (e) {
    throw new AttachError("ATTACH_BAD_PIN", `cannot open pinned link ${path}: ${(e as Error).message}`, bpfDetails(e), { cause: e });
  }
  if (fd instanceof MapFd && isAttachmentMap(fd)) {
    try {
      return attachmentFromMap(fd, path);
    } finally {
      fd.close();
    }
  }
  if (!(fd instanceof LinkFd)) {
    fd.close();
    throw new AttachError("ATTACH_BAD_PIN", `${path} is pinned but is not a link (it is a ${fd.kind})`);
  }
  try {
    const info = linkInfo(fd);
    const program = info.progId ? progGetFdById(info.progId) : undefined;
    return new Link(fd, linkKind(info.type), program, path);
  } catch (e) {
    fd.close();
    throw attachError(e, `cannot read pinned link ${path}`);
  }
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

/** The kernel's syscall function for syscall `name` (libbpf `SEC("ksyscall/NAME")`): the arch wrapper where the kernel has one. */
function syscallFunction(name: string): string {
  const prefix = process.arch === "x64" ? "__x64_sys_" : process.arch === "arm64" ? "__arm64_sys_" : "sys_";
  return `${prefix}${name}`;
}

type UprobeOptions = { path?: string; function?: string; offset?: number | bigint; retprobe?: boolean; pid?: number };

/** Where the dynamic linker looks for a library named without a path (its default directories). */
const LIBRARY_DIRS = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

/** The uprobe of a point and the program's section (`uprobe/PATH:FUNC[+OFF]`, `uretprobe/…`): the file and the offset in it. */
function uprobeOf(kind: NonNullable<AttachableProgram["spec"]["kind"]>, program: string, point: true | UprobeOptions, where: ErrorLocation): ProbeEvent {
  const u: UprobeOptions = point === true ? {} : point;
  const m = /^u(?:ret)?probe(?:\.s)?\/(.+?):([^:+]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(kind.section);
  const path = u.path ?? m?.[1];
  const fn = u.function ?? (u.offset === undefined ? m?.[2] : undefined);
  if (!path || (fn === undefined && u.offset === undefined)) {
    throw new AttachError("ATTACH_BAD_POINT", `uprobe program '${program}' (section ${kind.section}) names no file and function: give uprobe: { path, function } or { path, offset }`, where);
  }
  const file = path.includes("/") ? path : LIBRARY_DIRS.map((d) => `${d}/${path}`).find((f) => existsSync(f));
  if (!file) throw new AttachError("ATTACH_BAD_POINT", `no library ${path} in ${LIBRARY_DIRS.join(", ")}: give its path`, where);
  let offset = BigInt(u.offset ?? (m?.[3] ? BigInt(m[3]) : 0n));
  if (fn !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(file));
    } catch (e) {
      throw new AttachError("ATTACH_BAD_POINT", `cannot read ${file} for uprobe '${fn}': ${(e as Error).message}`, where, { cause: e });
    }
    try {
      offset += functionFileOffset(bytes, fn, file);
    } catch (e) {
      throw new AttachError("ATTACH_BAD_POINT", (e as Error).message, where, { cause: e });
    }
  }
  const retprobe = u.retprobe ?? kind.section.startsWith("uretprobe");
  return { kind: "uprobe", path: file, offset, retprobe, ...(u.pid === undefined ? {} : { pid: u.pid }) };
}

/** The probe a tracepoint or kprobe program's section names (`tracepoint/CAT/NAME`, `kprobe/FUNC+OFF`…), for `tracing: true`. */
function probeOfSection(kind: NonNullable<AttachableProgram["spec"]["kind"]>, program: string, where: ErrorLocation, point?: Record<string, unknown>): ProbeEvent {
  const [prefix, ...rest] = kind.section.split("/");
  if (kind.progType === ProgType.TRACEPOINT) {
    const given = point?.tracepoint;
    const [category, name] = typeof given === "string" ? given.split("/") : rest;
    if (!category || !name) throw new AttachError("ATTACH_BAD_POINT", `tracepoint program '${program}' (section ${kind.section}) names no tracepoint: give tracepoint: "CATEGORY/NAME"`, where);
    return { kind: "tracepoint", category, name };
  }
  const k = (point?.kprobe && point.kprobe !== true ? point.kprobe : {}) as { function?: string; offset?: number | bigint; retprobe?: boolean };
  const target = rest.join("/");
  const m = /^([^+]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(target);
  const syscall = prefix === "ksyscall" || prefix === "kretsyscall";
  const fn = k.function ?? (m ? (syscall ? syscallFunction(m[1]!) : m[1]) : undefined);
  if (!fn || prefix?.startsWith("uprobe") || prefix?.startsWith("uretprobe") || prefix === "usdt") {
    throw new AttachError("ATTACH_BAD_POINT", `kprobe program '${program}' (section ${kind.section}) names no kernel function${prefix?.startsWith("u") ? ": a uprobe program attaches with uprobe: { path, offset }" : ": give kprobe: { function }"}`, where);
  }
  return { kind: "kprobe", function: fn, offset: BigInt(k.offset ?? (m?.[2] ? BigInt(m[2]) : 0n)), retprobe: k.retprobe ?? (prefix === "kretprobe" || prefix === "kretsyscall") };
}

/**
 * Attach `program` at `point`. The returned {@link Link} owns the attachment: dispose it to end it, or
 * pin it to keep it. Throws {@link AttachError} (the kernel's refusal, or a point that does not suit the
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
      throw attachError(e, `program '${program.name}' attached, but its id could not be read`, where);
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
      if (t.via === "netlink" || (t.via !== "link" && !hasFeature("tcx_link"))) {
        // Before tcx (6.6): a direct-action cls_bpf filter on the interface's clsact qdisc.
        if (t.before || t.after) {
          if (t.via === "netlink") throw new AttachError("ATTACH_BAD_POINT", "before/after order a tcx chain; a netlink filter is placed by handle and priority", where);
          throw new UnsupportedFeatureError("tcx_link", FEATURES.tcx_link.minKernel, `${FEATURES.tcx_link.description}: before/after ordering needs it (a netlink filter is placed by handle and priority)`);
        }
        return onInterface(t, where, (ifindex) => NetlinkAttachment.tc(program, { ifindex, direction: t.direction, handle: t.handle ?? 1, priority: t.priority ?? 1 }, t.netns));
      }
      if (!hasFeature("tcx_link")) throw new UnsupportedFeatureError("tcx_link", FEATURES.tcx_link.minKernel, FEATURES.tcx_link.description);
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

function bpfDetails(e: unknown): { command?: string; errnoName?: string } {
  if (e instanceof BpfSyscallError) return { command: e.command, errnoName: e.errnoName };
  if (e instanceof SyscallError) return { command: e.syscall, errnoName: e.errnoName };
  return {};
}

function attachError(e: unknown, message: string, where: ErrorLocation = {}): AttachError {
  if (e instanceof AttachError) return e;
  return new AttachError("ATTACH_FAILED", `${message}: ${(e as Error).message}`, { ...where, ...bpfDetails(e) }, { cause: e });
}

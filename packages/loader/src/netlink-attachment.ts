/**
 * tc and XDP attachments through rtnetlink, for kernels without tcx (6.6) or XDP links (5.9): the
 * same {@link Attachment} contract as a link. Nothing holds such an attachment but the interface, so
 * the handle detaches it when closed unless it is pinned; a pin is a one-entry map named
 * `xbpf_attachment` whose value describes the attachment, which {@link openPinnedAttachment} reads back.
 */
import {
  enterNetns, type LinkInfo, mapCreate, type MapFd, mapInfo, mapLookup, mapUpdate, MapType, NetlinkError, objPin, ProgFd, dupFd, progGetFdById, progInfo,
  tcClsactAdd, tcFilterAttach, tcFilterDetach, tcFilterProgramId, type TcFilterRef, xdpProgramId, xdpSet,
} from "@x/sys";
import { mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { Attachment, AttachableProgram } from "./attach.js";
import { attachError, type LinkKind } from "./link.js";
import { AttachError } from "./errors.js";
import type { KernelFd } from "./load/kernel.js";

/** The name of the maps that pin netlink attachments. */
export const ATTACHMENT_MAP_NAME = "xbpf_attachment";
const DESCRIPTOR_SIZE = 256;

/** What a pinned netlink attachment records. */
type Descriptor =
  | { readonly kind: "tc"; readonly netns?: string; readonly filter: TcFilterRef }
  | { readonly kind: "xdp"; readonly netns?: string; readonly ifindex: number; readonly flags: number };

function inNetns<T>(netns: string | undefined, fn: () => T): T {
  if (!netns) return fn();
  using _ns = enterNetns(netns);
  return fn();
}

/** A tc filter or an interface's XDP program, set through rtnetlink. */
export class NetlinkAttachment implements Attachment {
  readonly kind: LinkKind;
  readonly via = "netlink";
  #program: ProgFd | undefined;
  #closed = false;
  pinPath: string | undefined;

  /** @internal */
  constructor(readonly descriptor: Descriptor, program: ProgFd | undefined, pinPath?: string) {
    this.kind = descriptor.kind === "tc" ? "tc" : "xdp";
    this.#program = program;
    this.pinPath = pinPath;
  }

  /** Attach `program` as a direct-action cls_bpf filter on a clsact qdisc (added when missing). */
  static tc(program: AttachableProgram, filter: TcFilterRef, netns: string | undefined): NetlinkAttachment {
    const own = new ProgFd(dupFd(program.fd));
    try {
      inNetns(netns, () => {
        tcClsactAdd(filter.ifindex);
        tcFilterAttach(filter, program.fd, { name: program.name });
      });
    } catch (e) {
      own.close();
      const hint = e instanceof NetlinkError && e.errnoName === "EEXIST" ? " (a filter is there already: give another handle or priority, or replace it)" : e instanceof NetlinkError && (e.errnoName === "ENOENT" || e.errnoName === "EOPNOTSUPP") ? " (does the kernel have sch_ingress and cls_bpf?)" : "";
      throw attachError(e, `cannot attach program '${program.name}' as a tc ${filter.direction} filter on ifindex ${filter.ifindex}${hint}`);
    }
    return new NetlinkAttachment({ kind: "tc", filter, ...(netns ? { netns } : {}) }, own);
  }

  /** Set `program` as the interface's XDP program, only where none is set. */
  static xdp(program: AttachableProgram, ifindex: number, flags: number, netns: string | undefined): NetlinkAttachment {
    const own = new ProgFd(dupFd(program.fd));
    try {
      inNetns(netns, () => {
        const there = xdpProgramId(ifindex);
        if (there) throw new AttachError("ATTACH_FAILED", `ifindex ${ifindex} has an XDP program already (id ${there})`);
        xdpSet(ifindex, program.fd, { flags });
      });
    } catch (e) {
      own.close();
      throw attachError(e, `cannot attach program '${program.name}' to XDP on ifindex ${ifindex}`);
    }
    return new NetlinkAttachment({ kind: "xdp", ifindex, flags, ...(netns ? { netns } : {}) }, own);
  }

  /** What the kernel runs there now (0: nothing). */
  runningProgramId(): number {
    return inNetns(this.descriptor.netns, () => runningIn(this.descriptor));
  }

  get programId(): number | undefined {
    return this.#program ? progInfo(this.#program).id : undefined;
  }

  /** The attachment described as link info: no link id (0), the program, the interface. */
  info(): LinkInfo {
    const d = this.descriptor;
    return { type: 0, id: 0, progId: this.runningProgramId(), ifindex: d.kind === "tc" ? d.filter.ifindex : d.ifindex };
  }

  /**
   * Run `program` instead. XDP: the kernel swaps only while the expected program runs
   * (`XDP_FLAGS_REPLACE`). tc: the filter is replaced in place at its handle and priority, after
   * checking that the expected program is the one there (netlink has no compare-and-swap for filters,
   * so a replacement racing this one between the check and the swap is not detected).
   */
  update(program: AttachableProgram | KernelFd, options: { readonly expected?: KernelFd } = {}): void {
    const fd = "spec" in program ? program.fd : program;
    const expected = options.expected ?? this.#program;
    const d = this.descriptor;
    try {
      inNetns(d.netns, () => {
        const running = runningIn(d);
        const wanted = expected ? progInfo(expected).id : running;
        if (running !== wanted) throw replaced(running, wanted, this.kind);
        if (d.kind === "tc") tcFilterAttach(d.filter, fd, { replace: true });
        else xdpSet(d.ifindex, fd, { flags: d.flags, ...(expected ? { expected } : {}) });
      });
    } catch (e) {
      if (e instanceof NetlinkError && e.errnoName === "EEXIST" && d.kind === "xdp") throw replaced(this.runningProgramId(), expected ? progInfo(expected).id : 0, this.kind);
      throw attachError(e, `cannot replace the ${this.kind} program`);
    }
    const next = new ProgFd(dupFd(fd));
    this.#program?.close();
    this.#program = next;
  }

  /** Keep the attachment after this handle closes, described by a map pinned at `path`. */
  pin(path: string): void {
    const value = new Uint8Array(DESCRIPTOR_SIZE);
    const text = new TextEncoder().encode(JSON.stringify(this.descriptor));
    if (text.byteLength > DESCRIPTOR_SIZE) throw new AttachError("ATTACH_BAD_PIN", `the attachment's description is ${text.byteLength} bytes, more than ${DESCRIPTOR_SIZE}`);
    value.set(text);
    using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: DESCRIPTOR_SIZE, maxEntries: 1, name: ATTACHMENT_MAP_NAME });
    mapUpdate(map, new Uint8Array(4), value);
    mkdirSync(dirname(path), { recursive: true });
    objPin(map, path);
    this.pinPath = path;
  }

  unpin(): void {
    if (this.pinPath) rmSync(this.pinPath, { force: true });
    this.pinPath = undefined;
  }

  /** Remove the filter (or the XDP program) now, and the pin. */
  detach(): void {
    const d = this.descriptor;
    try {
      inNetns(d.netns, () => {
        if (d.kind === "tc") tcFilterDetach(d.filter);
        else xdpSet(d.ifindex, undefined, { flags: d.flags, ...(this.#program ? { expected: this.#program } : {}) });
      });
    } catch (e) {
      if (!(e instanceof NetlinkError && e.errnoName === "ENOENT")) throw attachError(e, `cannot detach the ${this.kind} program`);
    }
    this.unpin();
    this.#closed = true;
    this.#program?.close();
  }

  /** Close the handle: an unpinned attachment ends with it, as a link's would. */
  close(): void {
    if (this.#closed) return;
    if (!this.pinPath) {
      this.detach();
      return;
    }
    this.#closed = true;
    this.#program?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The program running where `d` says, in the current namespace (0: none). */
function runningIn(d: Descriptor): number {
  return d.kind === "tc" ? (tcFilterProgramId(d.filter) ?? 0) : xdpProgramId(d.ifindex);
}

function replaced(running: number, wanted: number, kind: string): AttachError {
  return new AttachError("ATTACH_REPLACED", `the ${kind} attachment runs program ${running}, not program ${wanted} this handle expected: it was replaced meanwhile, and is left as it is`);
}

/** Whether map `fd` is an attachment descriptor (see {@link NetlinkAttachment.pin}). */
export function isAttachmentMap(fd: MapFd): boolean {
  const info = mapInfo(fd);
  return info.name === ATTACHMENT_MAP_NAME && info.valueSize === DESCRIPTOR_SIZE;
}

/** The netlink attachment a descriptor map pinned at `path` describes. */
export function attachmentFromMap(fd: MapFd, path: string): NetlinkAttachment {
  const value = new Uint8Array(DESCRIPTOR_SIZE);
  mapLookup(fd, new Uint8Array(4), value);
  const end = value.indexOf(0);
  let d: Descriptor;
  try {
    d = JSON.parse(new TextDecoder().decode(end < 0 ? value : value.subarray(0, end))) as Descriptor;
  } catch (e) {
    throw new AttachError("ATTACH_BAD_PIN", `${path} holds an ${ATTACHMENT_MAP_NAME} map that describes no attachment`, {}, { cause: e });
  }
  const running = inNetns(d.netns, () => runningIn(d));
  if (!running) throw new AttachError("ATTACH_BAD_PIN", `${path} describes a ${d.kind} attachment that is gone (nothing runs there)`);
  return new NetlinkAttachment(d, progGetFdById(running), path);
}

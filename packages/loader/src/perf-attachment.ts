/**
 * Probe attachments: tracepoints, kprobes and uprobes are perf events, opened here and given the
 * program through a perf link (Linux 5.15: a {@link Link}, pinnable) or, before, through
 * `PERF_EVENT_IOC_SET_BPF` (a {@link PerfEventAttachment}, which lasts as long as its handle).
 */
import {
  AttachType, hasFeature, linkCreate, type LinkInfo, openKprobeEvent, openTracepointEvent, openUprobeEvent, PerfEventError, type PerfEventFd,
  perfEventSetBpf, ProgFd, dupFd, progInfo,
} from "@x/sys";
import type { ErrorLocation } from "@x/elf";
import type { Attachment, AttachableProgram } from "./attach.js";
import { bpfDetails, Link } from "./link.js";
import { AttachError } from "./errors.js";
import type { KernelFd } from "./load/kernel.js";

/** What kind of perf event a probe point opens. */
export type ProbeEvent =
  | { readonly kind: "tracepoint"; readonly category: string; readonly name: string }
  | { readonly kind: "kprobe"; readonly function: string; readonly offset: bigint; readonly retprobe: boolean }
  | { readonly kind: "uprobe"; readonly path: string; readonly offset: bigint; readonly retprobe: boolean; readonly pid?: number };

function describe(e: ProbeEvent): string {
  if (e.kind === "tracepoint") return `tracepoint ${e.category}/${e.name}`;
  if (e.kind === "kprobe") return `${e.retprobe ? "kretprobe" : "kprobe"} ${e.function}${e.offset ? `+0x${e.offset.toString(16)}` : ""}`;
  return `${e.retprobe ? "uretprobe" : "uprobe"} ${e.path}+0x${e.offset.toString(16)}${e.pid === undefined ? "" : ` (pid ${e.pid})`}`;
}

function openEvent(e: ProbeEvent): PerfEventFd {
  if (e.kind === "tracepoint") return openTracepointEvent(e.category, e.name);
  if (e.kind === "kprobe") return openKprobeEvent(e.function, { offset: e.offset, retprobe: e.retprobe });
  return openUprobeEvent(e.path, e.offset, { retprobe: e.retprobe, ...(e.pid === undefined ? {} : { pid: e.pid }) });
}

/** Open the event and attach `program` to it: a perf link where the kernel has them, else the ioctl. */
export function attachProbe(program: AttachableProgram, event: ProbeEvent, where: ErrorLocation): Attachment {
  let pfd: PerfEventFd;
  try {
    pfd = openEvent(event);
  } catch (e) {
    if (e instanceof PerfEventError && e.code === "PERF_EVENT_UNAVAILABLE") throw new AttachError("ATTACH_BAD_POINT", `cannot attach program '${program.name}' to ${describe(event)}: ${e.message}`, where, { cause: e });
    throw new AttachError("ATTACH_FAILED", `cannot attach program '${program.name}' to ${describe(event)}: ${(e as Error).message}`, { ...where, ...bpfDetails(e) }, { cause: e });
  }
  const own = new ProgFd(dupFd(program.fd));
  try {
    if (hasFeature("perf_link")) {
      // The link holds the event: its fd is not needed once the link exists.
      try {
        return new Link(linkCreate(program.fd, { target: pfd, attachType: AttachType.PERF_EVENT }), "perf_event", own);
      } finally {
        pfd.close();
      }
    }
    perfEventSetBpf(pfd, program.fd);
    return new PerfEventAttachment(pfd, own, describe(event));
  } catch (e) {
    own.close();
    pfd.close();
    throw new AttachError("ATTACH_FAILED", `cannot attach program '${program.name}' to ${describe(event)}: ${(e as Error).message}`, { ...where, ...bpfDetails(e) }, { cause: e });
  }
}

/**
 * A program on a perf event through `PERF_EVENT_IOC_SET_BPF` (kernels before perf links, 5.15):
 * the attachment is the event's fd, so it ends when the handle closes and cannot be pinned, and the
 * event's program cannot be swapped (attach the new program to a new event instead).
 */
export class PerfEventAttachment implements Attachment {
  readonly kind = "perf_event";
  readonly via = "link";
  readonly pinPath = undefined;
  readonly #event: PerfEventFd;
  readonly #program: ProgFd;

  /** @internal */
  constructor(event: PerfEventFd, program: ProgFd, readonly description: string) {
    this.#event = event;
    this.#program = program;
  }

  get programId(): number | undefined {
    return this.#program.closed ? undefined : progInfo(this.#program).id;
  }

  runningProgramId(): number {
    return this.#event.closed ? 0 : (this.programId ?? 0);
  }

  info(): LinkInfo {
    return { type: 0, id: 0, progId: this.runningProgramId() };
  }

  update(_program: AttachableProgram | KernelFd): void {
    throw new AttachError("ATTACH_FAILED", `the ${this.description} attachment cannot run another program: perf events take a program once (open a new attachment instead)`);
  }

  pin(path: string): void {
    throw new AttachError("ATTACH_FAILED", `cannot pin the ${this.description} attachment at ${path}: before Linux 5.15 (perf links) it is the event's fd, and lasts as long as this process holds it`);
  }

  unpin(): void {}

  detach(): void {
    this.close();
  }

  close(): void {
    this.#event.close();
    this.#program.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

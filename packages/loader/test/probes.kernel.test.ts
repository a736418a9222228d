/**
 * Probe attachments through perf events, on getppid(2) called by this process: a tracepoint, a kprobe
 * and a kretprobe on the syscall function (the kprobe PMU: the VM kernels have it, this host's kernel
 * has no kprobes and those cells are unsupported), an fentry on vfs_read (a tracing link; this host
 * refuses tracing programs by policy), and a uprobe on libc's getppid at the file offset
 * found from its address in this process and /proc/self/maps. Perf links (5.15) pin; before, the
 * attachment is the event's fd (PERF_EVENT_IOC_SET_BPF) and cannot be pinned.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { AttachError, openObject } from "@x/loader";
import { hasFeature, LinkType } from "@x/sys";
import { KernelConfigError } from "../../sys/test/modules.js";
import { requireProgTypeForTest } from "../../sys/test/refused.js";
import { koffi } from "../../sys/src/native.js";
import { bpffsDir, fixture, haveBpffs, haveKernel } from "./kernel.js";

type Calls = { getppid: () => number; dlsym: (handle: null, name: string) => unknown };
let calls: Calls | undefined;
/** libc's getppid, called directly (process.ppid goes through libuv, which may cache nothing but is not ours to rely on). */
function libc(): Calls {
  if (calls) return calls;
  const k = koffi();
  const lib = k.load("libc.so.6");
  calls = { getppid: lib.func("int getppid(void)") as Calls["getppid"], dlsym: lib.func("void *dlsym(void *handle, const char *name)") as Calls["dlsym"] };
  return calls;
}

/** Where function `name` of a loaded library is in its file: its address, less its mapping's start, plus the mapping's file offset. */
function fileOffsetOf(name: string): { path: string; offset: bigint } {
  const address = koffi().address(libc().dlsym(null, name));
  for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(\/\S+)$/.exec(line);
    if (!m) continue;
    const [start, end, off] = [BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`), BigInt(`0x${m[3]}`)];
    if (address >= start && address < end) return { path: m[4]!, offset: address - start + off };
  }
  throw new Error(`${name} (0x${address.toString(16)}) is in no file mapping`);
}

/** The VM guests mount no tracefs: mount it where the kernel expects it. */
function needTracefs(): void {
  if (existsSync("/sys/kernel/tracing/events") || existsSync("/sys/kernel/debug/tracing/events")) return;
  mkdirSync("/sys/kernel/tracing", { recursive: true });
  execFileSync("mount", ["-t", "tracefs", "tracefs", "/sys/kernel/tracing"]);
}

/** The kprobe PMU, or the matrix's unsupported cell naming what the kernel lacks. */
function needKprobes(): void {
  if (!existsSync("/sys/bus/event_source/devices/kprobe")) {
    throw new KernelConfigError("kprobe_events", "CONFIG_KPROBE_EVENTS=y", "this kernel has no kprobe PMU (no /sys/bus/event_source/devices/kprobe)");
  }
}

const load = (programs: string[]) => {
  const spec = openObject(fixture("probes"));
  spec.set("target_tgid", process.pid);
  return spec.load({ programs });
};

const hits = (obj: ReturnType<typeof load>, name: string) => Number(obj.variable(name).get());

describe.runIf(haveKernel)("probe attachments (perf events)", () => {
  it("tracepoint syscalls/sys_enter_getppid, from the section name: counts this process's calls", () => {
    needTracefs();
    using obj = load(["on_tracepoint"]);
    using a = obj.program("on_tracepoint").attach({ tracing: true });
    expect(a.kind).toBe("perf_event");
    for (let i = 0; i < 5; i++) libc().getppid();
    expect(hits(obj, "tp_hits")).toBe(5);
    a.close();
    libc().getppid();
    expect(hits(obj, "tp_hits")).toBe(5);
  });

  it("kprobe and kretprobe on the syscall function (ksyscall/getppid)", () => {
    needKprobes();
    using obj = load(["on_kprobe", "on_kretprobe"]);
    using k = obj.program("on_kprobe").attach({ kprobe: true });
    using r = obj.program("on_kretprobe").attach({ tracing: true });
    for (let i = 0; i < 3; i++) libc().getppid();
    expect(hits(obj, "kprobe_hits")).toBe(3);
    expect(hits(obj, "kretprobe_hits")).toBe(3);
    void k;
    void r;
  });

  it("fentry on vfs_read, through BPF_RAW_TRACEPOINT_OPEN (tracing: true)", () => {
    requireProgTypeForTest("TRACING");
    using obj = load(["on_fentry"]);
    using a = obj.program("on_fentry").attach({ tracing: true });
    expect(a.kind).toBe("tracing");
    expect(a.info().type).toBe(LinkType.TRACING);
    // Each read of a file is at least one vfs_read (other threads of this process may add some).
    for (let i = 0; i < 3; i++) readFileSync("/proc/self/stat");
    expect(hits(obj, "fentry_hits")).toBeGreaterThanOrEqual(3);
    a.close();
    const after = hits(obj, "fentry_hits");
    readFileSync("/proc/self/stat");
    expect(hits(obj, "fentry_hits")).toBe(after);
  });

  it("uprobe on libc's getppid, this process only", () => {
    using obj = load(["on_uprobe"]);
    const { path, offset } = fileOffsetOf("getppid");
    using a = obj.program("on_uprobe").attach({ uprobe: { path, offset, pid: process.pid } });
    for (let i = 0; i < 4; i++) libc().getppid();
    expect(hits(obj, "uprobe_hits")).toBe(4);
    void a;
  });

  it("uprobe by function name (libc.so.6, found by ELF symbol), and a uretprobe from its section (uretprobe/libc.so.6:getppid)", () => {
    using obj = load(["on_uprobe", "on_uretprobe"]);
    using a = obj.program("on_uprobe").attach({ uprobe: { path: "libc.so.6", function: "getppid", pid: process.pid } });
    using r = obj.program("on_uretprobe").attach({ tracing: true });
    for (let i = 0; i < 2; i++) libc().getppid();
    expect(hits(obj, "uprobe_hits")).toBe(2);
    expect(hits(obj, "uretprobe_hits")).toBe(2);
    void a;
    void r;
  });

  it.runIf(haveBpffs())("a perf link pins (5.15), an ioctl attachment cannot; neither swaps its program", () => {
    needTracefs();
    const pins = bpffsDir("xbpf-probes");
    try {
      using obj = load(["on_tracepoint"]);
      using a = obj.program("on_tracepoint").attach({ tracepoint: "syscalls/sys_enter_getppid" });
      const pin = () => a.pin(`${pins.dir}/link`);
      if (hasFeature("perf_link")) {
        pin();
        expect(a.info().type).toBe(LinkType.PERF_EVENT);
        expect(a.info().progId).toBe(obj.program("on_tracepoint").info().id);
      } else {
        expect(pin).toThrow(AttachError);
        expect(pin).toThrow(/before Linux 5.15/);
      }
      expect(() => a.update(obj.program("on_tracepoint"))).toThrow(AttachError);
    } finally {
      pins.remove();
    }
  });

  it("refuses a tracepoint that does not exist and a kprobe program with no function", () => {
    needTracefs();
    using obj = load(["on_tracepoint", "on_uprobe"]);
    const err = (f: () => unknown) => { try { f(); } catch (e) { return e as AttachError; } throw new Error("no error"); };
    const e1 = err(() => obj.program("on_tracepoint").attach({ tracepoint: "syscalls/no_such_tracepoint" }));
    expect(e1.code).toBe("ATTACH_BAD_POINT");
    expect(e1.message).toMatch(/no tracepoint syscalls\/no_such_tracepoint/);
    const e2 = err(() => obj.program("on_uprobe").attach({ tracing: true }));
    expect(e2.code).toBe("ATTACH_BAD_POINT");
    expect(e2.message).toMatch(/uprobe: \{ path, function \}/);
  });
});

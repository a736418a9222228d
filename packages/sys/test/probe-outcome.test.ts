// Probe answers without a kernel: the errno → answer classification, and every probe run against a
// bpf(2) that always fails with one errno (the syscall layer and the kernel's BTF are mocked).
import { beforeEach, describe, expect, it, vi } from "vitest";
import { XError } from "@x/elf";
import { BpfCmd, BpfSyscallError, Errno } from "@x/sys";
import { buildBtf, btfInfo, btfInt, btfType, BtfKind } from "../src/probes/btf-blob.js";
import { classifyProbeError, MISSING_ERRNOS, ProbeAnswer, ProbeInconclusiveError, runProbe } from "../src/probes/outcome.js";

const fake = vi.hoisted(() => ({
  /** The errno every bpf(2) call fails with. */
  errno: 1,
  /** What reading /sys/kernel/btf/vmlinux gives. */
  vmlinux: (): Uint8Array => {
    throw Object.assign(new Error("ENOENT: no such file or directory, open '/sys/kernel/btf/vmlinux'"), { code: "ENOENT" });
  },
  calls: 0,
}));

// The raw syscall (below the retry and error layers, which stay real): every bpf(2) fails with fake.errno.
vi.mock("../src/native.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../src/native.js")>()),
  sysBpf: () => {
    fake.calls++;
    return { result: -1, errno: fake.errno };
  },
}));
vi.mock("../src/kernel/vmlinux.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../src/kernel/vmlinux.js")>()),
  vmlinuxBtfBytes: () => fake.vmlinux(),
}));

/** Raw BTF with the FUNCs the kfunc probe looks for (or not). */
/** A kernel BTF with FUNCs named `funcs`, and the struct the struct_ops_link probe creates a map of. */
function kernelBtfWith(...funcs: string[]): Uint8Array {
  const words = [...btfInt(1, 1, 0, 32, 4), ...btfType(0, btfInfo(BtfKind.FUNC_PROTO, 0, 0), 0)];
  let strings = "\0int";
  for (const f of funcs) {
    words.push(...btfType(strings.length + 1, btfInfo(BtfKind.FUNC, 0, 1), 2));
    strings += `\0${f}`;
  }
  words.push(...btfType(strings.length + 1, btfInfo(BtfKind.STRUCT, 0, 0), 256));
  strings += "\0bpf_struct_ops_tcp_congestion_ops";
  return buildBtf(words, strings);
}

const sysError = (errno: number, log?: string) => new BpfSyscallError(BpfCmd.PROG_LOAD, errno, log === undefined ? {} : { log });

describe("classifyProbeError", () => {
  it("EINVAL, E2BIG, EOPNOTSUPP and ENOTSUPP: the kernel does not know it (missing)", () => {
    expect([...MISSING_ERRNOS].sort()).toEqual(["E2BIG", "EINVAL", "ENOTSUPP", "EOPNOTSUPP"]);
    for (const n of ["EINVAL", "E2BIG", "EOPNOTSUPP", "ENOTSUPP"] as const) {
      const o = classifyProbeError(sysError(Errno[n]));
      expect(o, n).toMatchObject({ status: "missing", errno: n });
      expect(o.error).toMatch(new RegExp(`^BPF_PROG_LOAD failed: ${n} \\(`));
    }
  });

  it("permission, resources and bad arguments: the probe cannot tell (unknown)", () => {
    for (const n of ["EPERM", "ENOMEM", "EMFILE", "ENFILE", "EFAULT", "EBUSY", "EAGAIN", "EBADF", "ENOSPC", "EACCES"] as const) {
      const o = classifyProbeError(sysError(Errno[n]));
      expect(o, n).toMatchObject({ status: "unknown", errno: n });
      expect(o.error, n).toContain(n);
    }
  });

  it("a verifier rejection is missing only where the probe program uses the feature", () => {
    const e = sysError(Errno.EACCES, "0: (85) call bpf_rcu_read_lock#12345\ncalling kernel function bpf_rcu_read_lock is not allowed\n");
    expect(classifyProbeError(e)).toMatchObject({ status: "unknown", errno: "EACCES" });
    const m = classifyProbeError(e, { verifierRejection: "missing" });
    expect(m).toMatchObject({ status: "missing", errno: "EACCES" });
    expect(m.error).toMatch(/verifier rejected the probe program \(calling kernel function bpf_rcu_read_lock is not allowed\)/);
    // EACCES without a log is not the verifier (a security module, for one): unknown either way.
    expect(classifyProbeError(sysError(Errno.EACCES, "  \n"), { verifierRejection: "missing" })).toMatchObject({ status: "unknown" });
  });

  it("what is not a bpf(2) answer is unknown, with the fs code when there is one", () => {
    const fsErr = Object.assign(new Error("EACCES: permission denied, open '/sys/kernel/btf/vmlinux'\nmore"), { code: "EACCES" });
    expect(classifyProbeError(fsErr)).toEqual({ status: "unknown", errno: "EACCES", error: "EACCES: permission denied, open '/sys/kernel/btf/vmlinux'" });
    expect(classifyProbeError(new TypeError("x is not a function"))).toEqual({ status: "unknown", error: "x is not a function" });
    expect(classifyProbeError("a string")).toEqual({ status: "unknown", error: "a string" });
  });

  it("a probe's own answer passes through; a probe that returns is supported", () => {
    expect(classifyProbeError(new ProbeAnswer("missing", "the kernel's BTF has no FUNC f"))).toEqual({ status: "missing", error: "the kernel's BTF has no FUNC f" });
    expect(classifyProbeError(new ProbeAnswer("unknown", "cannot read", "EIO"))).toEqual({ status: "unknown", error: "cannot read", errno: "EIO" });
    expect(runProbe(() => {})).toEqual({ status: "supported" });
    expect(runProbe(() => { throw sysError(Errno.E2BIG); })).toMatchObject({ status: "missing", errno: "E2BIG" });
  });
});

describe("ProbeInconclusiveError", () => {
  it("is an XError with a stable code that names the feature and says why", () => {
    const e = new ProbeInconclusiveError("btf", "BPF_BTF_LOAD failed: EPERM (Operation not permitted)", "EPERM");
    expect(e).toBeInstanceOf(XError);
    expect(e).toMatchObject({ name: "ProbeInconclusiveError", code: "PROBE_INCONCLUSIVE", feature: "btf", errno: "EPERM" });
    expect(e.message).toMatch(/^cannot tell whether the running kernel supports btf: its probe failed with EPERM \(BPF_BTF_LOAD failed: EPERM/);
    expect(e.message).toMatch(/CAP_BPF/);
    expect(new ProbeInconclusiveError("x", "y").message).toBe("cannot tell whether the running kernel supports x: its probe failed with an error (y)");
  });
});

describe("every probe against a bpf(2) that always fails", () => {
  beforeEach(() => {
    vi.resetModules(); // fresh probe caches
    fake.vmlinux = () => kernelBtfWith("bpf_rcu_read_lock", "bpf_rcu_read_unlock");
    fake.calls = 0;
  });

  it("EPERM: every answer is unknown, not cached, and hasFeature/requireFeature throw naming the feature", async () => {
    fake.errno = Errno.EPERM;
    const sys = await import("../src/index.js");
    const all = sys.probeAll();
    for (const r of all) {
      expect(r, r.name).toMatchObject({ status: "unknown", supported: false, errno: "EPERM" });
      expect(r.error, r.name).toMatch(/EPERM/);
    }
    const calls = fake.calls;
    expect(sys.probeFeature("btf")).not.toBe(sys.probeFeature("btf"));
    expect(fake.calls).toBeGreaterThan(calls);
    for (const f of ["btf", "global_data", "kfunc_call"] as const) {
      let err: unknown;
      try { sys.hasFeature(f); } catch (e) { err = e; }
      expect(err, f).toBeInstanceOf(sys.ProbeInconclusiveError);
      expect(err).toMatchObject({ code: "PROBE_INCONCLUSIVE", feature: f, errno: "EPERM" });
      expect((err as Error).message).toContain(`supports ${f}:`);
      expect(() => sys.requireFeature(f)).toThrow(sys.ProbeInconclusiveError);
    }
    const t = sys.probeProgType(sys.ProgType.SOCKET_FILTER);
    expect(t).toMatchObject({ status: "unknown", errno: "EPERM" });
    expect(sys.probeProgType(sys.ProgType.SOCKET_FILTER)).not.toBe(t);
  });

  it("EINVAL: every answer is missing and cached; hasFeature is false, requireFeature says what is missing", async () => {
    fake.errno = Errno.EINVAL;
    const sys = await import("../src/index.js");
    for (const r of sys.probeAll()) expect(r, r.name).toMatchObject({ status: "missing", supported: false, errno: "EINVAL" });
    expect(sys.probeFeature("arena")).toBe(sys.probeFeature("arena"));
    expect(sys.hasFeature("btf")).toBe(false);
    expect(() => sys.requireFeature("arena")).toThrow(sys.UnsupportedFeatureError);
    expect(sys.probeProgType(sys.ProgType.XDP)).toMatchObject({ status: "missing", errno: "EINVAL" });
    // A type that needs an attach target: an EINVAL without a verifier log cannot tell it from the missing target.
    expect(sys.probeProgType(sys.ProgType.TRACING)).toMatchObject({ status: "unknown", errno: "EINVAL" });
    expect(sys.probeAttachType(sys.ProgType.XDP, sys.AttachType.XDP)).toMatchObject({ status: "missing", errno: "EINVAL" });
  });

  it("ENOMEM and EMFILE: unknown", async () => {
    for (const n of ["ENOMEM", "EMFILE"] as const) {
      vi.resetModules();
      fake.errno = Errno[n];
      const sys = await import("../src/index.js");
      expect(sys.probeFeature("array_mmap"), n).toMatchObject({ status: "unknown", errno: n });
      expect(() => sys.hasFeature("array_mmap")).toThrow(/cannot tell whether the running kernel supports array_mmap/);
    }
  });

  it("kfunc_call: no kernel BTF or no such FUNC is missing before any bpf(2); an unreadable BTF is unknown", async () => {
    fake.errno = Errno.EPERM;
    let sys = await import("../src/index.js");
    fake.vmlinux = () => kernelBtfWith("bpf_rcu_read_lock");
    expect(sys.probeFeature("kfunc_call")).toMatchObject({ status: "missing", error: "the kernel's BTF has no FUNC bpf_rcu_read_unlock" });
    expect(fake.calls).toBe(0);

    vi.resetModules();
    sys = await import("../src/index.js");
    fake.vmlinux = () => {
      throw Object.assign(new Error("ENOENT: no such file or directory, open '/sys/kernel/btf/vmlinux'"), { code: "ENOENT" });
    };
    expect(sys.probeFeature("kfunc_call")).toMatchObject({ status: "missing", errno: "ENOENT" });
    expect(sys.probeFeature("kfunc_call").error).toMatch(/no BTF/);

    vi.resetModules();
    sys = await import("../src/index.js");
    fake.vmlinux = () => {
      throw Object.assign(new Error("EACCES: permission denied, open '/sys/kernel/btf/vmlinux'"), { code: "EACCES" });
    };
    const r = sys.probeFeature("kfunc_call");
    expect(r).toMatchObject({ status: "unknown", errno: "EACCES" });
    expect(r.error).toMatch(/cannot read the kernel's BTF: EACCES: permission denied/);
    expect(() => sys.hasFeature("kfunc_call")).toThrow(/kfunc_call: its probe failed with EACCES/);
    expect(fake.calls).toBe(0);
  });
});

// The probes added for kernel adaptation: kfunc lookup in raw BTF (pure), the new fixed probes,
// and the parameterised program/attach type probes (kernel).
import { describe, expect, it } from "vitest";
import {
  ATTACH_TYPE_MIN_KERNEL, AttachType, BpfSyscallError, FEATURES, PROG_TYPE_MIN_KERNEL, ProgType, buildBtf, findFuncIds,
  compareKernelVersions, kernelVersion,
  findKernelFuncIds, linkCreate, probeAttachType, probeFeature, probeProgType, probeProgTypes, progLoad,
} from "@x/sys";
import { btfInfo, btfInt, btfType, BtfKind } from "../src/probes/btf-blob.js";
import { asm } from "@x/reloc";
import { encodeInsns, haveKernel } from "./kernel.js";

describe("findFuncIds (raw BTF walk for the kfunc probe)", () => {
  // [1] int, [2] struct s { int a; }, [3] int (*)(int), [4] FUNC foo, [5] ENUM e { X }, [6] FUNC bar
  const blob = buildBtf([
    ...btfInt(1, 1, 0, 32, 4),
    ...btfType(5, btfInfo(BtfKind.STRUCT, 0, 1), 4), 7, 1, 0,
    ...btfType(0, btfInfo(BtfKind.FUNC_PROTO, 0, 1), 1), 0, 1,
    ...btfType(9, btfInfo(BtfKind.FUNC, 0, 1), 3),
    ...btfType(13, btfInfo(BtfKind.ENUM, 0, 1), 4), 15, 0,
    ...btfType(17, btfInfo(BtfKind.FUNC, 0, 1), 3),
  ], "\0int\0s\0a\0foo\0e\0X\0bar");

  it("finds FUNCs by exact name, skipping every record kind correctly", () => {
    expect(findFuncIds(blob, ["bar", "foo", "fo", "int"])).toEqual(new Map([["foo", 4], ["bar", 6]]));
  });
  it("refuses what is not BTF", () => {
    expect(() => findFuncIds(new Uint8Array(32), ["x"])).toThrow(/not BTF/);
  });
});

describe("feature and type tables", () => {
  it("every new feature is registered with a version", () => {
    for (const n of ["btf_qmark_datasec", "exp_attach_type", "module_btf", "bpf_link", "perf_link", "kfunc_call", "fd_array"] as const) {
      expect(FEATURES[n].minKernel).toMatch(/^\d+\.\d+$/);
    }
  });
  it("every program and attach type has a first kernel version", () => {
    for (const k of Object.keys(ProgType)) expect(PROG_TYPE_MIN_KERNEL).toHaveProperty(k);
    for (const k of Object.keys(AttachType)) expect(ATTACH_TYPE_MIN_KERNEL).toHaveProperty(k);
  });
});

/** Whether the running kernel is at least `version` (the suite also runs on older kernels, in the VM matrix). */
const atLeast = (version: string) => compareKernelVersions(kernelVersion(), version) >= 0;
const expectedStatus = (min: string) => (atLeast(min) ? "supported" : "missing");

describe.runIf(haveKernel)("probes on the running kernel", () => {
  it("the kfunc_call probe answers by the kernel's version, and its kfuncs are in the kernel's BTF when it has it", () => {
    const has = atLeast(FEATURES.kfunc_call.minKernel);
    expect(probeFeature("kfunc_call")).toMatchObject({ supported: has });
    if (has) expect(findKernelFuncIds(["bpf_rcu_read_lock", "bpf_rcu_read_unlock"]).size).toBe(2);
  });

  it("LINK_CREATE on fd -1 is EBADF (the bpf_link probe's signal)", () => {
    using prog = progLoad({ type: ProgType.CGROUP_SKB, insns: encodeInsns([asm.mov64Imm(0, 1), asm.exit()]), license: "GPL", expectedAttachType: AttachType.CGROUP_INET_INGRESS });
    let err: unknown;
    try { linkCreate(prog, { target: -1, attachType: AttachType.CGROUP_INET_INGRESS }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(BpfSyscallError);
    expect((err as BpfSyscallError).errnoName).toBe("EBADF");
  });

  it("program types: plain ones load, BTF-id ones are never guessed missing, answers are cached", () => {
    const sf = probeProgType(ProgType.SOCKET_FILTER);
    expect(sf).toMatchObject({ name: "prog_type SOCKET_FILTER", status: "supported", minKernel: "3.19" });
    expect(probeProgType(ProgType.SOCKET_FILTER)).toBe(sf);
    for (const t of ["SK_LOOKUP", "CGROUP_SOCK_ADDR", "CGROUP_SOCKOPT", "SYSCALL", "NETFILTER", "XDP", "SCHED_CLS", "KPROBE"] as const) {
      expect(probeProgType(ProgType[t]).status, t).toBe(expectedStatus(PROG_TYPE_MIN_KERNEL[t]));
    }
    for (const t of ["TRACING", "EXT", "LSM", "STRUCT_OPS"] as const) expect(probeProgType(ProgType[t]).status, t).not.toBe("missing");
    expect(probeProgType(999).status).toBe("unknown");
    expect(probeProgTypes().length).toBe(Object.keys(ProgType).length - 1);
  });

  it("attach types: checked at load where the kernel checks them, unknown where it may not", () => {
    expect(probeAttachType(ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_BIND).status).toBe("supported");
    expect(probeAttachType(ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_CONNECT).status).toBe(expectedStatus(ATTACH_TYPE_MIN_KERNEL.CGROUP_UNIX_CONNECT));
    expect(probeAttachType(ProgType.CGROUP_SOCK_ADDR, AttachType.XDP).status).toBe("missing");
    expect(probeAttachType(ProgType.SK_LOOKUP, AttachType.SK_LOOKUP).status).toBe(expectedStatus(ATTACH_TYPE_MIN_KERNEL.SK_LOOKUP));
    expect(probeAttachType(ProgType.XDP, AttachType.XDP_DEVMAP).status).toBe("unknown");
    const a = probeAttachType(ProgType.CGROUP_SOCKOPT, AttachType.CGROUP_SETSOCKOPT);
    expect(probeAttachType(ProgType.CGROUP_SOCKOPT, AttachType.CGROUP_SETSOCKOPT)).toBe(a);
  });
});

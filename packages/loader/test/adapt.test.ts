// Kernel adaptation decisions (pure): a fake feature set stands in for the probes.
import { describe, expect, it } from "vitest";
import { BTF_SANITIZE_FEATURES, Btf } from "@x/btf";
import { openObject } from "@x/loader";
import { AttachType, MapFlags, MapType, parseKernelVersion, ProgType, UnsupportedFeatureError, type FeatureName, type ProgTypeValue, type TypeProbeResult } from "@x/sys";
import { btfNeeds, btfRefused, describeSanitized, explainMapFailure, explainProgramFailure, planBtf } from "../src/adapt.js";
import { fixture } from "./fixtures.js";

const kernelWithout = (...missing: FeatureName[]) => ({ has: (n: FeatureName) => !missing.includes(n) });

/** BTF with a map value holding a bpf_spin_lock, a .ksyms kfunc, a typed and a typeless ksym. */
function btfWithSpecials(): Btf {
  return new Btf([
    { kind: "INT", name: "int", size: 4, encoding: 1, offset: 0, bits: 32 },                                   // 1
    { kind: "STRUCT", name: "bpf_spin_lock", size: 4, kindFlag: false, members: [{ name: "val", type: 1, bitOffset: 0, bitSize: 0 }] }, // 2
    { kind: "STRUCT", name: "locked", size: 8, kindFlag: false, members: [{ name: "n", type: 1, bitOffset: 0, bitSize: 0 }, { name: "lock", type: 2, bitOffset: 32, bitSize: 0 }] }, // 3
    { kind: "FUNC_PROTO", name: "", returnType: 0, params: [] },                                                // 4
    { kind: "FUNC", name: "bpf_rcu_read_lock", type: 4, linkage: "extern" },                                      // 5
    { kind: "VAR", name: "bpf_prog_active", type: 1, linkage: "extern" },                                         // 6
    { kind: "CONST", name: "", type: 0 },                                                                          // 7
    { kind: "VAR", name: "untyped_sym", type: 7, linkage: "extern" },                                             // 8
    { kind: "DATASEC", name: ".ksyms", size: 0, vars: [{ type: 5, offset: 0, size: 0 }, { type: 6, offset: 0, size: 4 }, { type: 8, offset: 0, size: 0 }] }, // 9
  ]);
}

describe("btfNeeds: when an object cannot do without BTF", () => {
  it("globals.bpf.o (array/hash .maps, data sections) can", () => {
    const spec = openObject(fixture("globals"));
    expect(btfNeeds(spec.btf, spec.maps)).toEqual([]);
  });
  it("BTF-only map types, special value fields, kfuncs and typed ksyms cannot; typeless ksyms can", () => {
    const btf = btfWithSpecials();
    const maps = [
      { name: "plain", type: MapType.HASH, btfValueTypeId: 1 },
      { name: "locked", type: MapType.HASH, btfValueTypeId: 3 },
      { name: "storage", type: MapType.SK_STORAGE, btfValueTypeId: 1 },
      { name: "ops", type: MapType.STRUCT_OPS, btfValueTypeId: 0 },
    ];
    expect(btfNeeds(btf, maps)).toEqual([
      "map 'locked' holds a struct bpf_spin_lock in its value",
      "map 'storage' is a SK_STORAGE map",
      "map 'ops' is a STRUCT_OPS map",
      "kfunc 'bpf_rcu_read_lock' is called",
      "typed ksym 'bpf_prog_active' is used",
    ]);
  });
});

describe("planBtf: sanitise, skip or refuse", () => {
  const btf = openObject(fixture("globals")).btf!;

  it("a kernel with every BTF feature gets the BTF as it is", () => {
    const plan = planBtf(btf, [], kernelWithout());
    expect(plan).toMatchObject({ action: "load", missing: [], changed: [] });
    expect(plan.action === "load" && plan.btf).toBe(btf);
  });

  it("missing kinds are sanitised, on a clone, and the warning names each feature with its kernel version", () => {
    const plan = planBtf(btf, [], kernelWithout("btf_datasec", "btf_func"));
    if (plan.action !== "load") throw new Error("expected a load");
    expect(plan.missing).toEqual(["btf_func", "btf_datasec"]);
    expect(plan.btf).not.toBe(btf);
    expect(plan.btf.types.some((t) => t.kind === "DATASEC" || t.kind === "VAR" || t.kind === "FUNC")).toBe(false);
    expect(btf.types.some((t) => t.kind === "DATASEC")).toBe(true);
    expect(describeSanitized(plan)).toMatch(/btf_func \(Linux 5\.0\), btf_datasec \(Linux 5\.2\).*DATASEC → STRUCT/);
  });

  it("the missing set is exactly the sanitisable features the kernel lacks", () => {
    const plan = planBtf(btf, [], kernelWithout(...BTF_SANITIZE_FEATURES, "arena"));
    expect(plan.action === "load" && plan.missing).toEqual([...BTF_SANITIZE_FEATURES]);
  });

  it("no BTF at all: skipped with a warning when the object can do without it", () => {
    const plan = planBtf(btf, [], kernelWithout("btf"));
    expect(plan).toMatchObject({ action: "skip" });
    expect(plan.action === "skip" && plan.warning).toMatch(/no BTF support \(needs Linux 4\.18\)/);
  });

  it("no BTF at all: refused, naming the feature, its version and the reason, when the object needs it", () => {
    let err: unknown;
    try { planBtf(btf, ["map 'ops' is a STRUCT_OPS map"], kernelWithout("btf")); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UnsupportedFeatureError);
    expect(err).toMatchObject({ feature: "btf", minKernel: "4.18" });
    expect((err as Error).message).toMatch(/does not support btf: .*STRUCT_OPS.*needs Linux 4\.18 or newer/);
  });

  it("BTF refused by the kernel: a warning, or an error when the object needs BTF", () => {
    expect(btfRefused([], "EINVAL")).toEqual({ warning: "kernel refused the object's BTF (EINVAL); loading without BTF" });
    const r = btfRefused(["kfunc 'bpf_rcu_read_lock' is called"], "EINVAL");
    expect("error" in r && r.error).toMatchObject({ feature: "btf", minKernel: "4.18" });
    expect("error" in r && r.error.message).toMatch(/refused the object's BTF \(EINVAL\).*kfunc 'bpf_rcu_read_lock'/);
  });
});

describe("explainProgramFailure: only after a failed load", () => {
  const res = (name: string, minKernel: string, status: TypeProbeResult["status"]): TypeProbeResult =>
    ({ name, minKernel, description: name, status, supported: status === "supported" });
  const probes = (prog: TypeProbeResult["status"], attach: TypeProbeResult["status"], kernel = "5.4.0") => ({
    progType: (t: number) => res(`prog_type ${Object.keys(ProgType).find((k) => ProgType[k as keyof typeof ProgType] === t)}`, "5.9", prog),
    attachType: () => res("attach_type CGROUP_UNIX_CONNECT (CGROUP_SOCK_ADDR)", "6.7", attach),
    kernel: () => parseKernelVersion(kernel),
  });

  it("a missing program type: the feature, its version, and the program", () => {
    const e = explainProgramFailure("lookup", ProgType.SK_LOOKUP, AttachType.SK_LOOKUP, probes("missing", "missing"))!;
    expect(e).toBeInstanceOf(UnsupportedFeatureError);
    expect(e).toMatchObject({ feature: "prog_type SK_LOOKUP", minKernel: "5.9" });
    expect(e.message).toMatch(/program 'lookup': program type SK_LOOKUP needs kernel ≥ 5\.9/);
  });

  it("a missing attach type", () => {
    const e = explainProgramFailure("conn", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_CONNECT, probes("supported", "missing", "6.1.0"))!;
    expect(e).toMatchObject({ feature: "attach_type CGROUP_UNIX_CONNECT (CGROUP_SOCK_ADDR)", minKernel: "6.7" });
    expect(e.message).toMatch(/expected attach type CGROUP_UNIX_CONNECT for CGROUP_SOCK_ADDR programs needs kernel ≥ 6\.7/);
  });

  it("a type the running kernel should have but lacks: configured out, not 'too old'", () => {
    const e = explainProgramFailure("ir", ProgType.LIRC_MODE2, undefined, probes("missing", "supported", "6.18.1"))!;
    expect(e.message).toMatch(/exists since Linux 5\.9, but this 6\.18\.1 kernel does not offer it/);
  });

  it("present or unknown types leave the original error alone", () => {
    expect(explainProgramFailure("p", ProgType.SK_LOOKUP, AttachType.SK_LOOKUP, probes("supported", "supported"))).toBeUndefined();
    expect(explainProgramFailure("p", ProgType.TRACING, AttachType.TRACE_FENTRY, probes("unknown", "unknown"))).toBeUndefined();
    expect(explainProgramFailure("p", 999 as ProgTypeValue, undefined, probes("missing", "missing"))).toBeUndefined();
  });
});

describe("explainMapFailure: only after a failed create", () => {
  it("names the missing map type or flag with its kernel version", () => {
    expect(explainMapFailure("heap", MapType.ARENA, MapFlags.BPF_F_MMAPABLE, kernelWithout("arena"))).toMatchObject({ feature: "arena", minKernel: "6.9" });
    const e = explainMapFailure("cfg", MapType.ARRAY, MapFlags.BPF_F_RDONLY_PROG, kernelWithout("rdonly_prog"))!;
    expect(e.message).toMatch(/map 'cfg' has BPF_F_RDONLY_PROG.*needs Linux 5\.2 or newer/);
    expect(explainMapFailure("x", MapType.ARRAY, MapFlags.BPF_F_MMAPABLE, kernelWithout("array_mmap"))).toMatchObject({ feature: "array_mmap", minKernel: "5.5" });
  });
  it("says nothing when the kernel has what the map needs", () => {
    expect(explainMapFailure("heap", MapType.ARENA, MapFlags.BPF_F_MMAPABLE, kernelWithout())).toBeUndefined();
    expect(explainMapFailure("h", MapType.HASH, 0, kernelWithout("arena", "rdonly_prog"))).toBeUndefined();
  });
});

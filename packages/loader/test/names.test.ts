import { describe, expect, it } from "vitest";
import { internalMapName, objectNameFromPath, programKindOf } from "@x/loader";

describe("internal map names (libbpf internal_map_name)", () => {
  it.each([
    ["globals", ".rodata", "globals.rodata"],
    ["sk_lookup", ".rodata", "sk_looku.rodata"],
    ["my_object", ".kconfig", "my_obje.kconfig"],
    ["glob", ".data", "glob.data"],
    ["anything", ".rodata.str1.1", ".rodata.str1.1"],
    ["anything", ".rodata.abracadabra", ".rodata.abracad"],
    ["obj", ".data.a-b", ".data.a_b"],
  ])("%s + %s → %s", (obj, sec, want) => {
    expect(internalMapName(obj, sec)).toBe(want);
  });

  it("takes the object name from the file name up to its first dot", () => {
    expect(objectNameFromPath("/a/b/globals.bpf.o")).toBe("globals");
    expect(objectNameFromPath("plain")).toBe("plain");
  });
});

describe("program types from section names (libbpf section_defs)", () => {
  it.each([
    ["socket", "SOCKET_FILTER", undefined],
    ["tc", "SCHED_CLS", undefined],
    ["tc/ingress", "SCHED_CLS", "TCX_INGRESS"],
    ["classifier", "SCHED_CLS", undefined],
    ["xdp", "XDP", "XDP"],
    ["xdp.frags", "XDP", "XDP"],
    ["sk_lookup", "SK_LOOKUP", "SK_LOOKUP"],
    ["cgroup_skb/egress", "CGROUP_SKB", "CGROUP_INET_EGRESS"],
    ["kprobe/do_unlinkat", "KPROBE", undefined],
    ["tracepoint/syscalls/sys_enter_openat", "TRACEPOINT", undefined],
    ["raw_tp/sched_switch", "RAW_TRACEPOINT", undefined],
    ["fentry/do_unlinkat", "TRACING", "TRACE_FENTRY"],
    ["fexit.s/do_unlinkat", "TRACING", "TRACE_FEXIT"],
    ["syscall", "SYSCALL", undefined],
  ])("%s → %s", (sec, type, attach) => {
    const k = programKindOf(sec)!;
    expect(k.progType).toBe(type);
    expect(k.attachType).toBe(attach);
  });

  it("keeps the attach target of BTF-attached programs and the sleepable flag", () => {
    expect(programKindOf("fentry.s/do_unlinkat")).toMatchObject({ attachTarget: "do_unlinkat", sleepable: true });
  });

  it("marks ?-prefixed sections as not autoloaded, and refuses unknown ones", () => {
    expect(programKindOf("?tc")).toMatchObject({ progType: "SCHED_CLS", autoload: false, section: "tc" });
    expect(programKindOf("tcx")).toBeUndefined();
    expect(programKindOf("nonsense/x")).toBeUndefined();
    expect(programKindOf("socketx")).toBeUndefined();
    expect(programKindOf("struct_ops/x")?.unsupported).toMatch(/struct_ops/);
  });
});

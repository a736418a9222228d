import { describe, expect, it } from "vitest";
import { internalMapName, objectNameFromPath, programKindOf } from "@x/loader";
import { AttachType, ProgType } from "@x/sys/abi";

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
    ["socket", ProgType.SOCKET_FILTER, undefined],
    ["tc", ProgType.SCHED_CLS, undefined],
    ["tc/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS],
    ["classifier", ProgType.SCHED_CLS, undefined],
    ["xdp", ProgType.XDP, AttachType.XDP],
    ["xdp.frags", ProgType.XDP, AttachType.XDP],
    ["sk_lookup", ProgType.SK_LOOKUP, AttachType.SK_LOOKUP],
    ["cgroup_skb/egress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS],
    ["kprobe/do_unlinkat", ProgType.KPROBE, undefined],
    ["tracepoint/syscalls/sys_enter_openat", ProgType.TRACEPOINT, undefined],
    ["raw_tp/sched_switch", ProgType.RAW_TRACEPOINT, undefined],
    ["fentry/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FENTRY],
    ["fexit.s/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FEXIT],
    ["syscall", ProgType.SYSCALL, undefined],
  ])("%s → %s", (sec, type, attach) => {
    const k = programKindOf(sec)!;
    expect(k.progType).toBe(type);
    expect(k.attachType).toBe(attach);
  });

  it("keeps the attach target of BTF-attached programs and the sleepable flag", () => {
    expect(programKindOf("fentry.s/do_unlinkat")).toMatchObject({ attachTarget: "do_unlinkat", sleepable: true });
  });

  it("marks ?-prefixed sections as not autoloaded, and refuses unknown ones", () => {
    expect(programKindOf("?tc")).toMatchObject({ progType: ProgType.SCHED_CLS, autoload: false, section: "tc" });
    expect(programKindOf("tcx")).toBeUndefined();
    expect(programKindOf("nonsense/x")).toBeUndefined();
    expect(programKindOf("socketx")).toBeUndefined();
    expect(programKindOf("struct_ops/x")?.unsupported).toMatch(/struct_ops/);
  });
});

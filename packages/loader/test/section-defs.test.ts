// Section names → program kinds, over libbpf's generated section_defs[] table: libbpf's matching
// rules (first match in table order, "type+" / "type/" / exact), the `?` prefix, BTF attach
// targets, flags, and the definitions the old hand-written table lacked.
import { describe, expect, it } from "vitest";
import { AttachType, ProgType } from "@x/sys/abi";
import {
  attachTypeName, findSectionDef, LIBBPF_SECTION_DEFS, type LibbpfSectionDef, progTypeName, programKindOf, SecFlag, sectionDefMatches,
} from "../src/section-defs.js";

const def = (sec: string, progType: LibbpfSectionDef["progType"] = ProgType.KPROBE): LibbpfSectionDef => ({ sec, progType, flags: SecFlag.NONE });

describe("libbpf's sec_def_matches", () => {
  it('"type+": exactly SEC("type") or SEC("type/extras")', () => {
    const d = def("kprobe+");
    for (const yes of ["kprobe", "kprobe/do_sys_open", "kprobe/", "kprobe/a/b"]) expect(sectionDefMatches(d, yes), yes).toBe(true);
    for (const no of ["kprobex", "kprobe.multi", "kprobe.multi/x", "kprob", "", "kprobe+", "xkprobe"]) expect(sectionDefMatches(d, no), no).toBe(false);
  });

  it('"type/": needs the SEC("type/extras") form', () => {
    const d = def("custom/");
    for (const yes of ["custom/x", "custom/", "custom/x/y"]) expect(sectionDefMatches(d, yes), yes).toBe(true);
    for (const no of ["custom", "customx", "custom.x/y"]) expect(sectionDefMatches(d, no), no).toBe(false);
  });

  it("anything else: exact", () => {
    const d = def("xdp");
    expect(sectionDefMatches(d, "xdp")).toBe(true);
    for (const no of ["xdp/foo", "xdpx", "xdp.frags", "xd", "?xdp"]) expect(sectionDefMatches(d, no), no).toBe(false);
  });
});

describe("the looser names of older loaders and cilium/ebpf", () => {
  it("an exact definition with a /suffix, when libbpf's table has no match", () => {
    expect(programKindOf("socket/1")).toMatchObject({ progType: ProgType.SOCKET_FILTER, loose: true, section: "socket/1" });
    expect(programKindOf("sk_lookup/dispatch")).toMatchObject({ progType: ProgType.SK_LOOKUP, attachType: AttachType.SK_LOOKUP, loose: true });
    expect(programKindOf("xdp/prog")).toMatchObject({ progType: ProgType.XDP, loose: true });
    expect(programKindOf("?socket/2")).toMatchObject({ progType: ProgType.SOCKET_FILTER, autoload: false, loose: true });
    // libbpf's own definitions first: xdp/devmap is a definition of its own, tc/ingress too.
    expect(programKindOf("xdp/devmap")).toMatchObject({ attachType: AttachType.XDP_DEVMAP, loose: false });
    expect(programKindOf("socket")).toMatchObject({ loose: false });
    // Only exact definitions: "type+" and "type/" already say what follows the slash.
    expect(programKindOf("nosuch/x")).toBeUndefined();
  });
});

describe("libbpf's find_sec_def: the first match in table order", () => {
  it("takes the first matching definition, not the longest", () => {
    const table = [def("a+", ProgType.KPROBE), def("a/b", ProgType.XDP), def("a/", ProgType.TRACEPOINT)];
    expect(findSectionDef("a/b", table)?.sec).toBe("a+");
    expect(findSectionDef("a/c", table)?.sec).toBe("a+");
    expect(findSectionDef("a/b", [table[1]!, table[0]!])?.sec).toBe("a/b");
    expect(findSectionDef("b", table)).toBeUndefined();
  });

  it("libbpf's table, in libbpf's order", () => {
    expect(LIBBPF_SECTION_DEFS.length).toBeGreaterThanOrEqual(101);
    expect(LIBBPF_SECTION_DEFS[0]).toEqual({ sec: "socket", progType: ProgType.SOCKET_FILTER, flags: SecFlag.NONE });
    const at = (sec: string) => LIBBPF_SECTION_DEFS.findIndex((d) => d.sec === sec);
    expect(at("sk_reuseport/migrate")).toBeLessThan(at("sk_reuseport"));
    expect(at("tc/ingress")).toBeLessThan(at("tc"));
    expect(at("xdp.frags/devmap")).toBeLessThan(at("xdp"));
    expect(new Set(LIBBPF_SECTION_DEFS.map((d) => d.sec)).size).toBe(LIBBPF_SECTION_DEFS.length);
  });

  it("names of one table entry resolve to that entry", () => {
    for (const d of LIBBPF_SECTION_DEFS) {
      const base = d.sec.replace(/[+/]$/, "");
      const names = d.sec.endsWith("+") ? [base, `${base}/x`] : d.sec.endsWith("/") ? [`${d.sec}x`] : [d.sec];
      for (const name of names) expect(findSectionDef(name), name).toBe(d);
    }
  });
});

describe("programKindOf", () => {
  it.each([
    ["socket", ProgType.SOCKET_FILTER, undefined],
    ["sk_reuseport/migrate", ProgType.SK_REUSEPORT, AttachType.SK_REUSEPORT_SELECT_OR_MIGRATE],
    ["sk_reuseport", ProgType.SK_REUSEPORT, AttachType.SK_REUSEPORT_SELECT],
    ["tc", ProgType.SCHED_CLS, undefined],
    ["tc/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS],
    ["tcx/egress", ProgType.SCHED_CLS, AttachType.TCX_EGRESS],
    ["xdp", ProgType.XDP, AttachType.XDP],
    ["xdp.frags/cpumap", ProgType.XDP, AttachType.XDP_CPUMAP],
    ["cgroup_skb/ingress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS],
    ["cgroup/skb", ProgType.CGROUP_SKB, undefined],
    ["usdt/libc.so.6:libc:setjmp", ProgType.KPROBE, undefined],
    ["lsm_cgroup/socket_bind", ProgType.LSM, AttachType.LSM_CGROUP],
    ["classifier", ProgType.SCHED_CLS, undefined],
    ["xdp.frags", ProgType.XDP, AttachType.XDP],
    ["sk_lookup", ProgType.SK_LOOKUP, AttachType.SK_LOOKUP],
    ["cgroup_skb/egress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS],
    ["kprobe/do_unlinkat", ProgType.KPROBE, undefined],
    ["tracepoint/syscalls/sys_enter_openat", ProgType.TRACEPOINT, undefined],
    ["raw_tp/sched_switch", ProgType.RAW_TRACEPOINT, undefined],
    ["fentry/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FENTRY],
    ["fexit.s/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FEXIT],
    ["syscall", ProgType.SYSCALL, undefined],
  ])("%s", (sec, type, attach) => {
    const k = programKindOf(sec)!;
    expect(k.progType).toBe(type);
    expect(k.attachType).toBe(attach);
  });

  it("classifies the definitions the hand-written table lacked", () => {
    const cases: [string, number, number | undefined, Record<string, unknown>?][] = [
      ["uprobe.multi/usr/bin/bash:readline", ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI],
      ["uretprobe.multi.s/usr/bin/bash:readline", ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI, { sleepable: true }],
      ["kprobe.session/do_sys_open", ProgType.KPROBE, AttachType.TRACE_KPROBE_SESSION],
      ["usdt.s/libc.so.6:libc:setjmp", ProgType.KPROBE, undefined, { sleepable: true }],
      ["netkit/primary", ProgType.SCHED_CLS, AttachType.NETKIT_PRIMARY],
      ["netkit/peer", ProgType.SCHED_CLS, AttachType.NETKIT_PEER],
      ["cgroup/connect_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_CONNECT],
      ["cgroup/sendmsg_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_SENDMSG],
      ["cgroup/recvmsg_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_RECVMSG],
      ["cgroup/getpeername_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_GETPEERNAME],
      ["cgroup/getsockname_unix", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_GETSOCKNAME],
    ];
    for (const [sec, type, attach, extra] of cases) {
      expect(programKindOf(sec), sec).toMatchObject({ progType: type, attachType: attach, ...extra });
    }
    expect(programKindOf("usdt.s/x")?.def.flags).toBe(SecFlag.USDT | SecFlag.SLEEPABLE);
  });

  it("follows libbpf where the hand-written table was looser: exact names stay exact in libbpf's table, and only the looser rule takes a suffix", () => {
    for (const sec of ["xdp/foo", "socket/x", "tc/foo", "perf_event/x", "sk_msg/x", "cgroup/dev/x", "sk_skb/stream_parser/x", "syscall/x"]) {
      expect(findSectionDef(sec), sec).toBeUndefined();
      expect(programKindOf(sec)?.loose, sec).toBe(true);
    }
    expect(programKindOf("sk_skb/stream_parser/x")).toMatchObject({ attachType: AttachType.SK_SKB_STREAM_PARSER });
    expect(programKindOf("cgroup/dev/x")).toMatchObject({ progType: ProgType.CGROUP_DEVICE });
  });

  it("`?`: not autoloaded; the rest of the name is classified (one `?` only, as libbpf strips)", () => {
    expect(programKindOf("?xdp")).toMatchObject({ section: "xdp", progType: ProgType.XDP, autoload: false });
    expect(programKindOf("?fexit.s/do_unlinkat")).toMatchObject({ section: "fexit.s/do_unlinkat", attachTarget: "do_unlinkat", sleepable: true, autoload: false });
    expect(programKindOf("xdp")?.autoload).toBe(true);
    expect(programKindOf("??xdp")).toBeUndefined();
    expect(programKindOf("?")).toBeUndefined();
  });

  it("attachTarget: what follows the first `/` of BTF-attached sections (SEC_ATTACH_BTF) only", () => {
    expect(programKindOf("fentry/bpf_fentry_test1")?.attachTarget).toBe("bpf_fentry_test1");
    expect(programKindOf("tp_btf/sched_switch")?.attachTarget).toBe("sched_switch");
    expect(programKindOf("iter.s/task")).toMatchObject({ attachTarget: "task", attachType: AttachType.TRACE_ITER, sleepable: true });
    expect(programKindOf("lsm/file_open")?.attachTarget).toBe("file_open");
    expect(programKindOf("fmod_ret/a/b")?.attachTarget).toBe("a/b");
    expect(programKindOf("fentry")).toMatchObject({ progType: ProgType.TRACING, attachTarget: undefined });
    expect(programKindOf("kprobe/do_sys_open")?.attachTarget).toBeUndefined();
    expect(programKindOf("tracepoint/syscalls/sys_enter_openat")?.attachTarget).toBeUndefined();
  });

  it("flags: sleepable, frags (XDP only), optional expected attach type", () => {
    expect(programKindOf("xdp.frags")).toMatchObject({ frags: true, attachTypeOptional: false });
    expect(programKindOf("xdp")).toMatchObject({ frags: false, attachTypeOptional: true });
    expect(programKindOf("xdp/devmap")?.attachTypeOptional).toBe(false);
    expect(programKindOf("sk_skb/verdict")?.attachTypeOptional).toBe(true);
    expect(programKindOf("cgroup/sock_create")?.attachTypeOptional).toBe(false);
    expect(programKindOf("syscall")).toMatchObject({ sleepable: true, attachType: undefined });
    expect(programKindOf("struct_ops.s/x")).toMatchObject({ sleepable: true, progType: ProgType.STRUCT_OPS });
  });

  it("libbpf's attach handler comes with the kind", () => {
    expect(programKindOf("kprobe/x")?.def.attach).toBe("attach_kprobe");
    expect(programKindOf("uretprobe.multi/x")?.def.attach).toBe("attach_uprobe_multi");
    expect(programKindOf("fexit/x")?.def.attach).toBe("attach_trace");
    expect(programKindOf("lsm_cgroup/x")?.def.attach).toBeUndefined();
    expect(programKindOf("xdp")?.def.attach).toBeUndefined();
  });

  it("freplace names the function it replaces after its /", () => {
    expect(programKindOf("freplace/handler")).toMatchObject({ progType: ProgType.EXT, attachTarget: "handler" });
    expect(programKindOf("freplace")).toMatchObject({ progType: ProgType.EXT, attachTarget: undefined });
  });
});

describe("display names", () => {
  it("program and attach types by their C names without prefix; numbers when unknown", () => {
    expect(progTypeName(ProgType.SCHED_CLS)).toBe("SCHED_CLS");
    expect(progTypeName(9999)).toBe("9999");
    expect(attachTypeName(AttachType.TCX_INGRESS)).toBe("TCX_INGRESS");
    expect(attachTypeName(AttachType.CGROUP_INET_INGRESS)).toBe("CGROUP_INET_INGRESS");
    expect(attachTypeName(9999)).toBe("9999");
  });
});

// Externs without a kernel: what opening finds and lays out (checked against the offsets libbpf gives
// the same object), the kconfig values as libbpf types them, and whole loads through a fake kernel
// whose configuration, kallsyms and BTF the test decides.
import { describe, expect, it } from "vitest";
import { Btf, type KconfigExtern } from "@x/btf";
import { describeObject, loadObject, openObject } from "@x/loader";
import { decodeInstructions, PseudoCall, PseudoLd, POISON_KFUNC_CALL_BASE } from "@x/reloc";
import { MapFlags } from "@x/sys/abi";
import { parseKconfigLines, writeKconfigNumber, writeKconfigValue } from "../src/kconfig.js";
import type { KernelBtfTypes } from "../src/load/kernel.js";
import { FakeKernel } from "./fake-kernel.js";
import { fixture } from "./fixtures.js";

const CONFIG = ["# comment", "CONFIG_HZ=250", "CONFIG_BPF_SYSCALL=y", "CONFIG_NET_CLS_ACT=m", "CONFIG_BPF_JIT=y", "CONFIG_PHYSICAL_START=0x1000000", 'CONFIG_DEFAULT_HOSTNAME="(none)"', ""].join("\n");
const PROG_PUT = 0xffffffff814d58f0n;

describe("externs at open (externs.bpf.o)", () => {
  it("finds every extern, strong or weak, in libbpf's order and .kconfig layout", () => {
    const spec = openObject(fixture("externs"));
    const layout = spec.externs.map((e) => [e.name, e.kind, e.weak, e.kind === "kconfig" ? `${e.type}@${e.offset}+${e.size}` : e.typeId]);
    // The offsets are those libbpf 1.1 gives the same object (bpftool map dump of its .kconfig map).
    expect(layout).toEqual([
      ["CONFIG_PHYSICAL_START", "kconfig", true, "int@0+8"],
      ["CONFIG_HZ", "kconfig", false, "int@8+4"],
      ["CONFIG_NET_CLS_ACT", "kconfig", true, "tristate@12+4"],
      ["LINUX_KERNEL_VERSION", "kconfig", false, "int@16+4"],
      ["CONFIG_BPF_JIT", "kconfig", true, "char@20+1"],
      ["CONFIG_BPF_SYSCALL", "kconfig", false, "bool@21+1"],
      ["CONFIG_XBPF_NO_SUCH_OPTION", "kconfig", true, "bool@22+1"],
      ["LINUX_HAS_BPF_COOKIE", "kconfig", false, "bool@23+1"],
      ["LINUX_HAS_SYSCALL_WRAPPER", "kconfig", false, "bool@24+1"],
      ["CONFIG_DEFAULT_HOSTNAME", "kconfig", true, "char-array@25+16"],
      ["bpf_prog_put", "ksym", false, 0],
      ["xbpf_no_such_symbol", "ksym", true, 0],
    ]);
    expect(spec.map(".kconfig")).toMatchObject({ name: "externs.kconfig", origin: "kconfig", valueSize: 41, flags: MapFlags.BPF_F_RDONLY_PROG, mmapable: true, freeze: true });
    // The .kconfig DATASEC is laid out as libbpf lays it out at open: sized, offsets set, sorted by them.
    const sec = spec.btf!.type(spec.btf!.find(".kconfig", "DATASEC")!, "DATASEC");
    expect(sec.size).toBe(41);
    expect(sec.vars.map((v) => v.offset)).toEqual([0, 8, 12, 16, 20, 21, 22, 23, 24, 25]);
    // Externs are not variables of the object (their values come from the kernel at load).
    expect([...spec.variables.keys()]).toEqual(["seen"]);
  });

  it("xbpf inspect lists them", () => {
    const d = describeObject(openObject(fixture("kfuncs")));
    expect(d.externs.map((e) => `${e.name} ${e.kind} ${e.weak ? "weak" : "strong"} ${e.type}`)).toEqual([
      "bpf_rcu_read_lock kfunc weak void (void)",
      "bpf_rcu_read_unlock kfunc weak void (void)",
      "bpf_task_from_pid kfunc strong struct task_struct *(int)",
      "bpf_task_release kfunc strong void (struct task_struct *)",
      "bpf_xbpf_no_such_kfunc kfunc weak void (void)",
    ]);
  });

  it("an object without externs has none, and no .kconfig map", () => {
    const spec = openObject(fixture("globals"));
    expect(spec.externs).toEqual([]);
    expect(spec.maps.some((m) => m.origin === "kconfig")).toBe(false);
  });
});

describe("kconfig values (libbpf's rules)", () => {
  const ext = (type: KconfigExtern["type"], size: number, signed = false): KconfigExtern =>
    ({ kind: "kconfig", name: "CONFIG_X", essentialName: "CONFIG_X", weak: false, btfId: 1, index: 0, typeId: 1, type, signed, size, align: 1, offset: 0 });
  const write = (e: KconfigExtern, v: string) => {
    const image = new Uint8Array(e.size);
    writeKconfigValue(e, v, image);
    return [...image];
  };

  it("y/n/m by type: bool, tristate (enum libbpf_tristate), char", () => {
    expect(write(ext("bool", 1), "y")).toEqual([1]);
    expect(write(ext("bool", 1), "n")).toEqual([0]);
    expect(write(ext("tristate", 4), "m")).toEqual([2, 0, 0, 0]);
    expect(write(ext("char", 1), "m")).toEqual([0x6d]);
    expect(() => write(ext("bool", 1), "m")).toThrow("extern (kcfg) 'CONFIG_X': value 'm' implies tristate or char type");
    expect(() => write(ext("int", 4), "y")).toThrow("implies bool, tristate, or char type");
  });

  it("integers: decimal, hex, octal, negative; range-checked against the C type's size", () => {
    expect(write(ext("int", 4, true), "250")).toEqual([250, 0, 0, 0]);
    expect(write(ext("int", 8), "0x1000000")).toEqual([0, 0, 0, 1, 0, 0, 0, 0]);
    expect(write(ext("int", 2), "010")).toEqual([8, 0]);
    expect(write(ext("int", 4, true), "-1")).toEqual([255, 255, 255, 255]);
    expect(() => write(ext("int", 1 + 1), "65536")).toThrow("value '65536' doesn't fit in 2 bytes");
    expect(() => write(ext("int", 4), "-1")).toThrow("doesn't fit in 4 bytes");
    expect(() => write(ext("int", 4), "12abc")).toThrow("isn't a valid integer");
    expect(() => write(ext("bool", 1), "2")).toThrow("implies integer type");
  });

  it("strings into char arrays, NUL-terminated, cut to fit as libbpf does", () => {
    expect(write(ext("char-array", 6), '"abc"')).toEqual([0x61, 0x62, 0x63, 0, 0, 0]);
    expect(write(ext("char-array", 4), '"abcdef"')).toEqual([0x61, 0x62, 0x63, 0]);
    expect(() => write(ext("int", 4), '"x"')).toThrow("implies char array type");
    expect(() => write(ext("char-array", 4), '"x')).toThrow("invalid string config");
  });

  it("virtual values are range-checked too", () => {
    const image = new Uint8Array(1);
    expect(() => writeKconfigNumber(ext("bool", 1), 5n, image)).toThrow("isn't boolean compatible");
  });

  it("config text: CONFIG_ lines, the first of a name wins, a line without a value is an error", () => {
    expect(parseKconfigLines("CONFIG_A=1\n# CONFIG_B is not set\n  CONFIG_C=y\nCONFIG_A=2\n")).toEqual(new Map([["CONFIG_A", "1"]]));
    expect(() => parseKconfigLines("CONFIG_A\n", "/boot/config-x")).toThrow("/boot/config-x:1: 'CONFIG_A' has no '='");
  });

  it("spec.kconfig and spec.setKconfig give values before load", () => {
    const spec = openObject(fixture("externs"));
    spec.kconfig = "CONFIG_HZ=1000\nCONFIG_BPF_SYSCALL=n\n";
    spec.setKconfig("CONFIG_XBPF_NO_SUCH_OPTION", true);
    expect(spec.kconfig).toBe("CONFIG_HZ=1000\nCONFIG_BPF_SYSCALL=n\nCONFIG_XBPF_NO_SUCH_OPTION=y\n");
    expect(() => spec.setKconfig("LINUX_KERNEL_VERSION", 1)).toThrow(expect.objectContaining({ code: "OBJECT_BAD_KCONFIG" }));
  });
});

describe("externs through a fake kernel", () => {
  const sources = { config: CONFIG, kallsyms: { bpf_prog_put: PROG_PUT, __x64_sys_bpf: 0xffffffff814e0370n }, linuxKernelVersion: 0x06122c };

  it("fill the .kconfig map as libbpf does, patch every reference, and resolve kallsyms addresses", () => {
    const k = new FakeKernel({}, sources);
    using _obj = loadObject(openObject(fixture("externs")), { kernel: k });
    const [fd, kconfig] = [...k.maps].find(([, o]) => o.name === "externs.kconfig")!;
    expect(kconfig.flags).toBe(MapFlags.BPF_F_RDONLY_PROG | MapFlags.BPF_F_MMAPABLE);
    // The bytes bpftool shows for libbpf's .kconfig of this object on a kernel with this config
    // (LINUX_HAS_SYSCALL_WRAPPER 1: __x64_sys_bpf is in kallsyms).
    expect([...k.values.get(fd)!]).toEqual([
      0, 0, 0, 1, 0, 0, 0, 0, 250, 0, 0, 0, 2, 0, 0, 0, 0x2c, 0x12, 0x06, 0, 0x79, 1, 0, 1, 1,
      0x28, 0x6e, 0x6f, 0x6e, 0x65, 0x29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(k.ops.indexOf("map_freeze externs.kconfig")).toBeLessThan(k.ops.indexOf("prog_load read_externs"));
    const insns = decodeInstructions([...k.programs.values()][0]!.insns, true);
    const ld = insns.map((insn, i) => ({ insn, next: insns[i + 1] })).filter(({ insn }) => insn.code === 0x18);
    // kconfig externs: map values of .kconfig at their offsets; ksyms: the address as a constant.
    const values = ld.filter(({ insn }) => insn.srcReg === PseudoLd.MAP_VALUE && insn.imm === fd).map(({ next }) => next!.imm).sort((a, b) => a - b);
    expect(values).toEqual([0, 8, 12, 16, 20, 21, 22, 23, 24, 25]);
    const constants = ld.filter(({ insn }) => insn.srcReg === 0).map(({ insn, next }) => (BigInt(next!.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0));
    expect(constants.sort()).toEqual([0n, PROG_PUT]);
  });

  it("a strong extern the kernel does not have stops the load before anything is created, naming it", () => {
    const k = new FakeKernel({}, { ...sources, config: "CONFIG_BPF_SYSCALL=y\n" });
    expect(() => loadObject(openObject(fixture("externs")), { kernel: k })).toThrow(
      expect.objectContaining({ code: "OBJECT_UNRESOLVED_EXTERN", location: expect.objectContaining({ object: "externs", symbol: "CONFIG_HZ" }) }),
    );
    expect(k.ops.some((o) => o.startsWith("map_create"))).toBe(false);
    const noSym = new FakeKernel({}, { ...sources, kallsyms: {} });
    expect(() => loadObject(openObject(fixture("externs")), { kernel: noSym })).toThrow(/extern 'bpf_prog_put' \(strong\): not found in \/proc\/kallsyms/);
  });

  it("values given before load win over the kernel's; without a config only weak CONFIG_ externs may stay 0", () => {
    const spec = openObject(fixture("externs"));
    spec.kconfig = "CONFIG_HZ=1000\nCONFIG_BPF_SYSCALL=y\n";
    const warnings: string[] = [];
    const k = new FakeKernel({}, { ...sources, config: undefined });
    using _obj = loadObject(spec, { kernel: k, warn: (w) => warnings.push(w) });
    const [fd] = [...k.maps].find(([, o]) => o.name === "externs.kconfig")!;
    expect(new DataView(k.values.get(fd)!.buffer).getInt32(8, true)).toBe(1000);
    expect(warnings.join("\n")).toMatch(/extern \(kcfg\) 'CONFIG_PHYSICAL_START' \(weak\) is 0: fake kernel: no kernel config/);
    spec.kconfig = "CONFIG_HZ=banana\n";
    expect(() => loadObject(spec, { kernel: new FakeKernel({}, sources) })).toThrow("extern (kcfg) 'CONFIG_HZ': value 'banana' isn't a valid integer");
  });

  it("kfuncs: BTF ids from vmlinux, a module's BTF through fd_array, a missing weak one poisoned", () => {
    const vmlinux = kernelTypes("vmlinux", 0, ["bpf_task_from_pid", "bpf_rcu_read_lock", "bpf_rcu_read_unlock"]);
    const module = kernelTypes("xbpf_mod", 42, ["bpf_task_release"]);
    const k = new FakeKernel({}, { btf: [vmlinux, module] });
    using _obj = loadObject(openObject(fixture("kfuncs")), { kernel: k });
    expect(k.ops).toContain("btf_get_fd_by_id 42");
    const prog = [...k.programs.values()][0]!;
    expect(prog.fdArray?.map((f) => (typeof f === "number" ? f : k.name(f)))).toEqual([0, "btf#42"]);
    const calls = decodeInstructions(prog.insns, true).filter((i) => i.code === 0x85 && i.srcReg === PseudoCall.KFUNC_CALL);
    expect(calls.map((c) => [c.imm, c.off])).toEqual([
      [vmlinux.find("bpf_task_from_pid", "FUNC"), 0],
      [module.find("bpf_task_release", "FUNC"), 1],
      [vmlinux.find("bpf_rcu_read_lock", "FUNC"), 0],
      [vmlinux.find("bpf_rcu_read_unlock", "FUNC"), 0],
    ]);
    // bpf_ksym_exists(): a present kfunc's address is its BTF id; a missing weak one is 0, and its
    // (unreachable) call is libbpf's poisoned helper call, numbered by the extern's index.
    const insns = decodeInstructions(prog.insns, true);
    expect(insns.filter((i) => i.code === 0x18 && i.srcReg === PseudoLd.BTF_ID).map((i) => i.imm)).toEqual([vmlinux.find("bpf_rcu_read_lock", "FUNC")]);
    const missing = openObject(fixture("kfuncs")).externs.find((e) => e.name === "bpf_xbpf_no_such_kfunc")!;
    expect(insns.filter((i) => i.code === 0x85 && i.srcReg === 0 && i.imm === POISON_KFUNC_CALL_BASE + missing.index)).toHaveLength(1);
  });

  it("a kfunc with another prototype is refused, naming both", () => {
    const wrong = kernelTypes("vmlinux", 0, ["bpf_task_from_pid", "bpf_task_release"], { returnVoid: true });
    expect(() => loadObject(openObject(fixture("kfuncs")), { kernel: new FakeKernel({}, { btf: [wrong] }) })).toThrow(
      /extern \(func ksym\) 'bpf_task_from_pid': its prototype does not match vmlinux's/,
    );
  });
});

/** A kernel BTF object holding kfuncs named `names`, each `struct task_struct *(int)` or `void (struct task_struct *)` like the real ones. */
function kernelTypes(name: string, id: number, names: string[], o: { returnVoid?: boolean } = {}): KernelBtfTypes {
  const btf = new Btf();
  const int = btf.add({ kind: "INT", name: "int", size: 4, encoding: 1, offset: 0, bits: 32 });
  const task = btf.add({ kind: "STRUCT", name: "task_struct", size: 8, kindFlag: false, members: [] });
  const ptr = btf.add({ kind: "PTR", name: "", type: task });
  const from = btf.add({ kind: "FUNC_PROTO", name: "", returnType: o.returnVoid ? 0 : ptr, params: [{ name: "pid", type: int }] });
  const release = btf.add({ kind: "FUNC_PROTO", name: "", returnType: 0, params: [{ name: "p", type: ptr }] });
  const none = btf.add({ kind: "FUNC_PROTO", name: "", returnType: 0, params: [] });
  const proto = (n: string) => (n === "bpf_task_from_pid" ? from : n === "bpf_task_release" ? release : none);
  const ids = new Map(names.map((n) => [n, btf.add({ kind: "FUNC", name: n, type: proto(n), linkage: "global" })]));
  return { name, id, btf, find: (n, kind) => (kind === "FUNC" ? ids.get(n) : undefined) };
}

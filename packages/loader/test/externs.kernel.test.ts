/**
 * Externs through the kernel: each fixture's program copies what it sees into .bss, and that is
 * compared with what the machine itself says (its kernel configuration, /proc/kallsyms, the kernel
 * version libbpf would compute). Kernels that lack something are unsupported cells with the reason.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { hasFeature, kallsymsAddress, kernelConfig, libbpfKernelVersionCode, requireFeature } from "@x/sys";
import { KernelConfigError } from "../../sys/test/modules.js";
import { vmlinuxTypes } from "../src/kernel-btf.js";
import { fixture, haveKernel, requireNfConntrack, withNfConntrackKfuncs } from "./kernel.js";

/** The kernel's configuration as a map (the loader reads the same file: /boot/config-$(uname -r) or /proc/config.gz). */
function config(): Map<string, string> {
  const text = kernelConfig().text;
  return new Map(text.split("\n").filter((l) => l.startsWith("CONFIG_")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

/** The bpf(2) syscall wrapper of this architecture. */
const WRAPPER = process.arch === "arm64" ? "__arm64_sys_bpf" : "__x64_sys_bpf";

describe.runIf(haveKernel)("externs.bpf.o: kconfig and typeless ksyms", () => {
  it("the program sees the kernel's own configuration, version and symbol addresses", () => {
    const cfg = config();
    using obj = openObject(fixture("externs")).load();
    expect(obj.program("read_externs").testRun({ data: new Uint8Array(64) }).retval).toBe(1);
    const tristate = { y: 1, m: 2 } as Record<string, number>;
    expect(obj.variable("seen").get()).toEqual({
      kernel_version: libbpfKernelVersionCode(),
      has_cookie: hasFeature("bpf_cookie"),
      has_wrapper: kallsymsAddress(WRAPPER) !== undefined,
      bpf_syscall: cfg.get("CONFIG_BPF_SYSCALL") === "y",
      no_such_option: false,
      net_cls_act: tristate[cfg.get("CONFIG_NET_CLS_ACT") ?? "n"] ?? 0,
      bpf_jit: cfg.get("CONFIG_BPF_JIT") === "y" ? "y".charCodeAt(0) : 0,
      hz: Number(cfg.get("CONFIG_HZ")),
      physical_start: BigInt(cfg.get("CONFIG_PHYSICAL_START") ?? 0),
      hostname: JSON.parse(cfg.get("CONFIG_DEFAULT_HOSTNAME") ?? '""').slice(0, 15),
      prog_put: kallsymsAddress("bpf_prog_put"),
      no_such_symbol: 0n,
    });
    // The resolved values are read-only variables of the loaded object too, through the frozen .kconfig map.
    expect(obj.variable("CONFIG_HZ").get()).toBe(Number(cfg.get("CONFIG_HZ")));
    expect(obj.variable("LINUX_KERNEL_VERSION").readOnly).toBe(true);
    const fdinfo = readFileSync(`/proc/self/fdinfo/${obj.map(".kconfig").fd.fd}`, "utf8");
    expect(fdinfo).toMatch(/frozen:\s+1/);
    expect(() => obj.variable("CONFIG_HZ").set(1)).toThrow(expect.objectContaining({ code: "OBJECT_READ_ONLY" }));
  });

  it("values given before load are what the program sees", () => {
    const spec = openObject(fixture("externs"));
    spec.kconfig = "CONFIG_HZ=1000\nCONFIG_DEFAULT_HOSTNAME=\"xbpf\"\n";
    spec.setKconfig("CONFIG_XBPF_NO_SUCH_OPTION", true);
    using obj = spec.load();
    obj.program("read_externs").testRun({ data: new Uint8Array(64) });
    expect(obj.variable("seen").get()).toMatchObject({ hz: 1000, hostname: "xbpf", no_such_option: true });
  });
});

describe.runIf(haveKernel)("kfuncs.bpf.o: kfuncs from vmlinux, weak ones, bpf_loop next to them", () => {
  it("calls them, and bpf_ksym_exists() tells the present from the missing", () => {
    // Kfunc calls from any program type, bpf_task_from_pid and the generic kfuncs came with 6.2.
    requireFeature("kfunc_call");
    const spec = openObject(fixture("kfuncs"));
    spec.set("target_pid", process.pid);
    using obj = spec.load();
    obj.program("call_kfuncs").testRun();
    expect(obj.variable("seen").get()).toEqual({ init_found: 1, rcu_exists: 1, missing_exists: 0, loops: 3 });
  });

  it("an unguarded call of a missing weak kfunc is refused, and the error names the kfunc", () => {
    requireFeature("kfunc_call");
    expect(() => openObject(fixture("kfunc-unguarded")).load()).toThrow(
      expect.objectContaining({ code: "LOAD_PROGRAM", message: expect.stringMatching(/kfunc 'bpf_xbpf_no_such_kfunc' is referenced but wasn't resolved.*bpf_ksym_exists/) }),
    );
  });
});

describe.runIf(haveKernel)("ksym-typed.bpf.o: a typed per-CPU ksym", () => {
  it("resolves to the variable's BTF id and the program reads it through bpf_this_cpu_ptr()", () => {
    requireFeature("typed_ksym");
    // Per-CPU variables are in vmlinux's BTF only when pahole ≥ 1.18 built it (Debian's 5.10 predates that).
    if (vmlinuxTypes().find("bpf_prog_active", "VAR") === undefined) {
      throw new KernelConfigError("vmlinux_btf_percpu_vars", "a vmlinux BTF built with pahole >= 1.18", "this kernel's BTF has no VAR for the per-CPU variable bpf_prog_active");
    }
    const address = kallsymsAddress("bpf_prog_active");
    if (address === undefined) {
      // This kernel's kallsyms lists no variables (CONFIG_KALLSYMS_ALL off, like the test host): the
      // kernel cannot find the address, and the error says why.
      expect(() => openObject(fixture("ksym-typed")).load()).toThrow(/typed ksym 'bpf_prog_active' .*CONFIG_KALLSYMS_ALL/);
      return;
    }
    using obj = openObject(fixture("ksym-typed")).load();
    obj.program("read_typed").testRun({ data: new Uint8Array(64) });
    expect(obj.variable("address").get()).toBe(address);
    expect(obj.variable("active").get()).toBeGreaterThanOrEqual(0);
  });
});

describe.runIf(haveKernel)("conntrack.bpf.o: nf_conntrack's kfuncs, in vmlinux or in the module's own BTF (then through fd_array)", () => {
  it("the XDP program calls bpf_xdp_ct_lookup, which answers -ENOENT for a tuple no connection has", () => {
    requireNfConntrack();
    const obj = withNfConntrackKfuncs(() => openObject(fixture("conntrack")).load());
    using _obj = obj;
    expect(obj.program("ct_lookup").testRun({ data: new Uint8Array(64) }).retval).toBe(2); // XDP_PASS
    expect(obj.variable("found").get()).toBe(0);
    expect(obj.variable("lookup_error").get()).toBe(-2);
  });
});

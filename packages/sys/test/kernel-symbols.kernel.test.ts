// The kernel-symbol sources extern resolution reads, on the running kernel (here and in the VM
// matrix): /proc/kallsyms, the kernel configuration, LINUX_KERNEL_VERSION, and the typed-ksym probe.
// Each is read lazily: importing @x/sys reads none of them.
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { release, tmpdir, version } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { asm, PseudoLd } from "@x/reloc";
import { BtfKindId } from "@x/btf";
import {
  BpfSyscallError,
  bootConfigPath,
  compareKernelVersions,
  KallsymsError,
  KconfigError,
  kallsyms,
  kallsymsAddress,
  kallsymsCache,
  kernelConfig,
  kernelConfigCache,
  kernelConfigText,
  kernelVersion,
  libbpfKernelVersion,
  libbpfKernelVersionCache,
  libbpfKernelVersionCode,
  moduleBtfCache,
  parseKallsyms,
  PROC_CONFIG_GZ_PATH,
  probeFeature,
  progLoad,
  ProgType,
  vmlinuxBtfBytes,
} from "@x/sys";
import { findNamedTypeIds } from "../src/probes/vmlinux-funcs.js";
import { encodeInsns, haveKernel } from "./kernel.js";
import { vdsoLinuxVersionCode } from "./vdso.js";

// Before anything below runs: the module graph is fresh in each test file's process.
const filledAtImport = {
  kallsyms: kallsymsCache.filled,
  kconfig: kernelConfigCache.filled,
  version: libbpfKernelVersionCache.filled,
  moduleBtf: moduleBtfCache.size,
};

const readable = (p: string): boolean => {
  try {
    accessSync(p, constants.R_OK);
    return true;
  } catch {
    return false;
  }
};

describe("laziness", () => {
  it("importing @x/sys reads no kernel-symbol source", () => {
    expect(filledAtImport).toEqual({ kallsyms: false, kconfig: false, version: false, moduleBtf: 0 });
  });
});

describe.runIf(haveKernel)("/proc/kallsyms", () => {
  const text = readFileSync("/proc/kallsyms", "utf8");
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  /** Every line of the file under a name, split by hand (not by the parser under test). */
  const byName = new Map<string, { address: bigint; type: string; module?: string }[]>();
  for (const l of lines) {
    const [addr, type, name, mod] = l.split(/\s+/) as [string, string, string, string | undefined];
    const list = byName.get(name) ?? [];
    list.push({ address: BigInt(`0x${addr}`), type, ...(mod ? { module: mod.slice(1, -1) } : {}) });
    byName.set(name, list);
  }
  const unique = (name: string) => {
    const l = byName.get(name);
    return l && new Set(l.map((e) => e.address)).size === 1 ? l[0] : undefined;
  };

  it("parses once per process, every line", () => {
    const k = kallsyms();
    expect(kallsymsCache.filled).toBe(true);
    expect(kallsyms()).toBe(k);
    expect(k.addressesHidden).toBe(false);
    // The file may have grown (a module or BPF program loaded since) but not by much.
    expect(k.count).toBeGreaterThan(lines.length * 0.9);
  });

  it("_stext and bpf_prog_put resolve to the addresses the file lists", () => {
    for (const name of ["_stext", "bpf_prog_put"]) {
      const e = unique(name);
      if (!e) continue; // bpf_prog_put: present on every kernel of the matrix, but not required
      expect(e.address, name).not.toBe(0n);
      expect(kallsymsAddress(name), name).toBe(e.address);
    }
    expect(unique("_stext")).toBeDefined();
    expect(kallsymsAddress("xbpf_no_such_kernel_symbol")).toBeUndefined();
  });

  it("a module's symbol resolves too, with its module, when a real module is loaded (the VM guests load virtio and 9p modules)", () => {
    const pseudo = new Set(["bpf", "__builtin__ftrace", "__builtin__kprobes"]);
    const inModule = [...byName].find(([, l]) => l.length === 1 && l[0]!.module && !pseudo.has(l[0]!.module));
    const modules = existsSync("/proc/modules") ? readFileSync("/proc/modules", "utf8").trim() : ""; // no CONFIG_MODULES on this host
    if (modules === "") {
      expect(inModule).toBeUndefined();
      return;
    }
    expect(inModule, "a module is loaded, so kallsyms lists its symbols").toBeDefined();
    const [name, [e]] = inModule as [string, [{ address: bigint; type: string; module: string }]];
    // (Another test file may load a module with a symbol of the same name meanwhile: then it is ambiguous.)
    const found = kallsyms().lookup(name);
    expect(found).toContainEqual({ name, address: e.address, type: e.type, module: e.module });
    if (found.length === 1) expect(kallsymsAddress(name)).toBe(e.address);
  });

  it("a name listed at two addresses is ambiguous, as libbpf says", () => {
    // In vmlinux only: BPF programs ([bpf]) of tests running alongside come and go.
    const ambiguous = [...byName].find(([n, l]) => new Set(l.map((e) => e.address)).size > 1 && !n.includes(".llvm.") && l.every((e) => !e.module));
    if (!ambiguous) return; // every kernel of the matrix has some (static functions of the same name)
    let err: unknown;
    try {
      kallsymsAddress(ambiguous[0]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KallsymsError);
    expect(err).toMatchObject({ code: "KALLSYMS_AMBIGUOUS", symbol: ambiguous[0] });
  });
});

const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
const sysctl = (name: string): number | undefined => {
  try {
    return Number(readFileSync(`/proc/sys/kernel/${name}`, "utf8").trim());
  } catch {
    return undefined;
  }
};

describe.runIf(haveKernel && SETPRIV !== undefined)("/proc/kallsyms without CAP_SYSLOG", () => {
  const dir = mkdtempSync(join(tmpdir(), "x-sys-kallsyms-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the kernel hides the addresses (unless kptr_restrict=0 and perf_event_paranoid<=1): detected, not returned as 0", () => {
    // kallsyms_show_value(): kptr_restrict 0 shows addresses to all when perf_event_paranoid <= 1,
    // kptr_restrict <= 1 to CAP_SYSLOG, 2 to no one.
    const kptr = sysctl("kptr_restrict") ?? 0, paranoid = sysctl("perf_event_paranoid") ?? 2;
    const hidden = !(kptr === 0 && paranoid <= 1);
    writeFileSync(join(dir, "read.cjs"), `process.stdout.write(require("fs").readFileSync("/proc/kallsyms", "utf8").slice(0, 1 << 16).replace(/\\n[^\\n]*$/, "\\n"));`);
    const child = execFileSync(
      SETPRIV!,
      ["--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", process.execPath, join(dir, "read.cjs")],
      { cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir }, encoding: "utf8", timeout: 60_000 },
    );
    const k = parseKallsyms(child);
    expect(k.count).toBeGreaterThan(100);
    expect(k.addressesHidden).toBe(hidden);
    if (hidden) {
      expect(() => k.address("_stext")).toThrow(expect.objectContaining({ code: "KALLSYMS_HIDDEN" }));
    } else {
      expect(k.address("_stext")).toBe(kallsymsAddress("_stext"));
    }
  }, 90_000);
});

describe.runIf(haveKernel)("kernel configuration", () => {
  it("is /boot/config-$(uname -r), else /proc/config.gz, read once; or an error naming both", () => {
    const boot = bootConfigPath();
    const expected = readable(boot) ? boot : readable(PROC_CONFIG_GZ_PATH) ? PROC_CONFIG_GZ_PATH : undefined;
    if (expected === undefined) {
      // The VM guests: Debian's kernels have no CONFIG_IKCONFIG and the guest's /boot is the host's.
      let err: unknown;
      try {
        kernelConfig();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KconfigError);
      expect(err).toMatchObject({ code: "KCONFIG_UNREADABLE" });
      expect((err as Error).message).toContain(boot);
      expect((err as Error).message).toContain(PROC_CONFIG_GZ_PATH);
      expect(kernelConfigCache.filled).toBe(false);
      return;
    }
    const c = kernelConfig();
    expect(c.path).toBe(expected);
    expect(kernelConfig()).toBe(c);
    expect(kernelConfigText()).toBe(c.text);
    const values = new Map(c.text.split("\n").filter((l) => l.startsWith("CONFIG_")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(values.get("CONFIG_BPF")).toBe("y");
    expect(values.get("CONFIG_BPF_SYSCALL")).toBe("y");
    expect(values.size).toBeGreaterThan(500);
    // What the typed-ksym test below depends on, cross-checked with kallsyms: without
    // CONFIG_KALLSYMS_ALL no data symbol of a C variable is listed.
    if (!values.has("CONFIG_KALLSYMS_ALL")) expect(kallsyms().has("init_task")).toBe(false);
  });
});

describe.runIf(haveKernel)("LINUX_KERNEL_VERSION", () => {
  it("as libbpf computes it, is the running kernel's LINUX_VERSION_CODE (the vDSO's Linux note)", () => {
    const v = libbpfKernelVersion();
    expect(libbpfKernelVersionCode()).toBe(v.code);
    expect(libbpfKernelVersionCache.filled).toBe(true);
    const source = readable("/proc/version_signature") ? "ubuntu" : /Debian \d+\.\d+\.\d+/.test(version()) ? "debian" : "uname";
    expect(v.source).toBe(source);
    if (source === "uname") expect(v.code).toBe(kernelVersion().code);
    // Same series as the release, whatever the source (Debian's 5.10.0-32 is 5.10.223).
    expect(`${v.major}.${v.minor}`).toBe(`${kernelVersion().major}.${kernelVersion().minor}`);
    const vdso = vdsoLinuxVersionCode();
    if (typeof vdso === "string") throw new Error(`cannot read the vDSO's version note: ${vdso} (uname -r ${release()})`);
    expect(v.code.toString(16)).toBe(vdso.toString(16));
  });
});

describe.runIf(haveKernel)("typed ksyms (BPF_PSEUDO_BTF_ID)", () => {
  const hasBtf = existsSync("/sys/kernel/btf/vmlinux");

  it("the probe answers by version and BTF: every kernel of the matrix has it", () => {
    const r = probeFeature("typed_ksym");
    const expected = compareKernelVersions(kernelVersion(), "5.10") >= 0 && hasBtf ? "supported" : "missing";
    expect(r.status, r.error).toBe(expected);
  });

  it("a per-CPU variable loads exactly when kallsyms lists it (CONFIG_KALLSYMS_ALL), which the probe does not depend on", () => {
    if (!hasBtf) return;
    const id = findNamedTypeIds(vmlinuxBtfBytes(), ["runqueues"], BtfKindId.VAR).get("runqueues");
    if (id === undefined) return; // every kernel of the matrix has it
    const listed = kallsyms().has("runqueues");
    let err: unknown;
    try {
      const insns = [...asm.ldImm64(1, PseudoLd.BTF_ID, id, 0), asm.mov64Imm(0, 0), asm.exit()];
      progLoad({ type: ProgType.SOCKET_FILTER, insns: encodeInsns(insns), license: "GPL" }).close();
    } catch (e) {
      err = e;
    }
    if (listed) {
      expect(err).toBeUndefined();
    } else {
      // This host (CONFIG_KALLSYMS_ALL off): the feature is there, the symbol's address is not.
      expect(err).toBeInstanceOf(BpfSyscallError);
      expect(err).toMatchObject({ errnoName: "ENOENT" });
      expect((err as BpfSyscallError).log).toMatch(/failed to find the address for kernel symbol 'runqueues'/);
      expect(probeFeature("typed_ksym").status).toBe("supported");
    }
  });
});

// The pure side of modules.ts: a module tree's index files → which files to insert, in which order; where
// the tree is; the message of a configuration requirement (which the VM matrix must recognise).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UnsupportedFeatureError } from "@x/sys";
import { KernelConfigError, loadPlan, moduleName, modulesDir, parseAliases, parseModulesDep, parseSoftdeps, readModuleIndex, resolveModule } from "./modules.js";

const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** A module tree like Debian 5.10's around nf_conntrack, under TMP/lib/modules/KVER. */
function tree(kver = "5.10.0-32-amd64") {
  const root = mkdtempSync(join(tmpdir(), "xbpf-modules-"));
  scratch.push(root);
  const dir = join(root, "lib", "modules", kver);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "modules.dep"),
    [
      "kernel/net/netfilter/nf_conntrack.ko: kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko",
      "kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko:",
      "kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko:",
      "kernel/lib/libcrc32c.ko:",
      "kernel/crypto/crc32c_generic.ko:",
      "kernel/arch/x86/crypto/crc32c-intel.ko:",
      "kernel/net/netfilter/xt_conntrack.ko: kernel/net/netfilter/x_tables.ko kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko",
      "kernel/net/netfilter/x_tables.ko:",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "modules.softdep"), "# Soft dependencies extracted from modules themselves.\nsoftdep libcrc32c pre: crc32c\n");
  writeFileSync(join(dir, "modules.alias"), "alias crypto-crc32c crc32c_generic\nalias crc32c crc32c_generic\nalias crc32c crc32c_intel\nalias nf_conntrack-* nf_conntrack\n");
  writeFileSync(join(dir, "modules.builtin"), "kernel/net/ipv4/tcp_cubic.ko\n");
  return { root, dir, kver };
}

describe("module names and index files", () => {
  it("names modules as /sys/module does", () => {
    expect(moduleName("kernel/arch/x86/crypto/crc32c-intel.ko")).toBe("crc32c_intel");
    expect(moduleName("/t/kernel/fs/9p/9p.ko.xz")).toBe("9p");
    expect(moduleName("nf-conntrack")).toBe("nf_conntrack");
  });

  it("reads modules.dep with absolute paths, aliases and soft dependencies", () => {
    const deps = parseModulesDep("kernel/a.ko: kernel/b-c.ko kernel/d.ko\nkernel/b-c.ko:\n", "/m");
    expect(deps.get("a")).toEqual({ path: "/m/kernel/a.ko", deps: ["b_c", "d"] });
    expect(deps.get("b_c")).toEqual({ path: "/m/kernel/b-c.ko", deps: [] });
    const aliases = parseAliases("alias crc32c crc32c_generic\nalias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\nalias fs-[!x]fs z\n");
    expect(aliases.map((a) => a.module)).toEqual(["crc32c_generic", "virtio_pci", "z"]);
    expect(aliases[0]!.matches("crc32c")).toBe(true);
    expect(aliases[0]!.matches("crc32")).toBe(false);
    expect(aliases[1]!.matches("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00")).toBe(true);
    expect(aliases[1]!.matches("pci:v00008086d00001000sv0sd0bc0sc0i0")).toBe(false);
    expect([aliases[2]!.matches("fs-afs"), aliases[2]!.matches("fs-xfs")]).toEqual([true, false]);
    expect(parseSoftdeps("softdep x pre: a b post: c\nsoftdep y post: d\n")).toEqual(
      new Map([
        ["x", { pre: ["a", "b"], post: ["c"] }],
        ["y", { pre: [], post: ["d"] }],
      ]),
    );
  });

  it("plans dependencies first, soft dependencies as optional, each module once, built-ins left out", () => {
    const t = tree();
    const index = readModuleIndex(t.dir);
    if (typeof index === "string") throw new Error(index);
    const plan = loadPlan(index, "xt_conntrack");
    expect(plan.map((s) => `${s.name}${s.optional ? "?" : ""}`)).toEqual([
      "x_tables",
      "nf_defrag_ipv6",
      "nf_defrag_ipv4",
      "crc32c_generic?",
      "crc32c_intel?",
      "libcrc32c",
      "nf_conntrack",
      "xt_conntrack",
    ]);
    expect(plan.find((s) => s.name === "crc32c_intel")?.path).toBe(join(t.dir, "kernel/arch/x86/crypto/crc32c-intel.ko"));
    expect(resolveModule(index, "nf_conntrack-ipv4")).toEqual(["nf_conntrack"]);
    expect(resolveModule(index, "tcp_cubic")).toEqual(["tcp_cubic"]);
    expect(loadPlan(index, "tcp_cubic")).toEqual([]);
    expect(resolveModule(index, "nope")).toEqual([]);
    expect(readModuleIndex(join(t.root, "none"))).toMatch(/^no .*modules\.dep$/);
  });
});

describe("where the modules are", () => {
  it("takes XBPF_MODULES_DIR when it is the running kernel's, and says why not otherwise", () => {
    const t = tree("6.12.95+deb12-amd64");
    expect(modulesDir({ XBPF_MODULES_DIR: t.dir }, t.kver)).toEqual({ dir: t.dir });
    expect(modulesDir({ XBPF_MODULES_DIR: t.dir }, "6.1.0-50-amd64")).toEqual({
      reason: `XBPF_MODULES_DIR is ${t.dir}, not the modules of the running kernel 6.1.0-50-amd64`,
    });
    expect(modulesDir({}, "0.0.0-xbpf-none")).toEqual({
      reason: "no module files for 0.0.0-xbpf-none (no /lib/modules/0.0.0-xbpf-none/modules.dep, and XBPF_MODULES_DIR is not set)",
    });
  });
});

describe("KernelConfigError", () => {
  it("is an UnsupportedFeatureError whose message names a configuration instead of a version", () => {
    const e = new KernelConfigError("kernel_modules", "CONFIG_MODULES=y", "no /proc/modules");
    expect(e).toBeInstanceOf(UnsupportedFeatureError);
    expect(e.code).toBe("UNSUPPORTED_FEATURE");
    expect(e.feature).toBe("kernel_modules");
    expect(String(e.stack).split("\n")[0]).toBe("UnsupportedFeatureError: the running kernel does not support kernel_modules: no /proc/modules (needs CONFIG_MODULES=y)");
  });
});

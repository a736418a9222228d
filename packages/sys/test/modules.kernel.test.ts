// Kernel modules for kernel tests (modules.ts) on the running kernel: nf_conntrack, the module whose kfuncs
// (bpf_xdp_ct_lookup, bpf_skb_ct_lookup, bpf_ct_release) programs call through its own split BTF on
// Debian's kernels (CONFIG_NF_CONNTRACK=m). In the VM matrix each guest loads it from the cached kernel
// tree; where it cannot be a module (the host: no loadable module support, nf_conntrack built in; 5.10:
// no module BTF) the cell is unsupported, with the reason.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { btfGetFdById, btfInfo, UnsupportedFeatureError } from "@x/sys";
import { haveKernel } from "./kernel.js";
import { loadKernelModule, moduleBtfId, modulesDir, readModuleIndex, requireKernelModule } from "./modules.js";

/** The string section of a raw BTF blob (header: magic, version, flags, hdr_len, type_off/len, str_off/len). */
function btfStrings(raw: Buffer): string {
  expect(raw.readUInt16LE(0)).toBe(0xeb9f);
  const hdrLen = raw.readUInt32LE(4);
  const strOff = raw.readUInt32LE(16);
  const strLen = raw.readUInt32LE(20);
  return raw.toString("latin1", hdrLen + strOff, hdrLen + strOff + strLen);
}

describe.runIf(haveKernel)("kernel modules", () => {
  it("loads nf_conntrack with its dependencies, and a second time is a no-op", () => {
    const m = requireKernelModule("nf_conntrack");
    if (!m) return;
    expect(m).toMatchObject({ loaded: true, name: "nf_conntrack", builtin: false });
    expect(readFileSync("/sys/module/nf_conntrack/initstate", "utf8").trim()).toBe("live");
    // Every dependency modules.dep lists is loaded too (read here, not through the helper's plan).
    const where = modulesDir();
    if (!("dir" in where)) throw new Error(`nf_conntrack loaded as a module but no module tree: ${where.reason}`);
    const index = readModuleIndex(where.dir);
    if (typeof index === "string") throw new Error(index);
    const deps = index.deps.get("nf_conntrack")?.deps ?? [];
    expect(deps.length).toBeGreaterThan(0);
    for (const d of deps) expect(readFileSync(`/sys/module/${d}/initstate`, "utf8").trim(), d).toBe("live");
    expect(loadKernelModule("nf_conntrack")).toMatchObject({ loaded: true, builtin: false, inserted: [] });
    expect(loadKernelModule("nf-conntrack")).toMatchObject({ loaded: true, name: "nf_conntrack", inserted: [] });
  });

  it("nf_conntrack has its own BTF, with its kfuncs, reachable by BTF id", () => {
    const m = requireKernelModule("nf_conntrack", { btf: true });
    if (!m) return;
    expect(m.btf).toBe("/sys/kernel/btf/nf_conntrack");
    const raw = readFileSync(m.btf!);
    const strings = btfStrings(raw);
    if (!strings.includes("\0bpf_xdp_ct_lookup\0")) {
      throw new UnsupportedFeatureError("nf_conntrack_kfuncs", "5.18", "nf_conntrack's BTF has no bpf_xdp_ct_lookup: its kfuncs came with Linux 5.18");
    }
    for (const kfunc of ["bpf_skb_ct_lookup", "bpf_ct_release"]) expect(strings).toContain(`\0${kfunc}\0`);
    // The BTF object a program's fd_array would carry for a kfunc of the module.
    const id = moduleBtfId("nf_conntrack");
    expect(id).toBeGreaterThan(0);
    using fd = btfGetFdById(id!);
    const info = btfInfo(fd);
    expect(info).toMatchObject({ name: "nf_conntrack", kernelBtf: true, btfSize: raw.byteLength });
    expect(moduleBtfId("vmlinux")).not.toBe(id);
  });

  it("answers with a reason, not an error, for a module this kernel does not have", () => {
    const r = loadKernelModule("xbpf_no_such_module");
    expect(r.loaded).toBe(false);
    if (r.loaded) return;
    expect(r.reason).toMatch(/module/);
    expect(r.needs).not.toBe("");
    expect(existsSync("/sys/module/xbpf_no_such_module")).toBe(false);
  });
});

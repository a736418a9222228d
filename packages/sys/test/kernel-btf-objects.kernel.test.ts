// The running kernel's BTF objects (libbpf load_module_btfs) on the real kernel. Here (6.18, no
// modules) the module list is empty and the walk still finds vmlinux's BTF object; in the VM matrix
// the guests have modules loaded at boot (virtio, 9p, overlay), so from 5.11 the list is not empty
// and each module's bytes are its /sys/kernel/btf file; on 5.10 (no module BTF, no BTF ids for
// vmlinux either) both lists are empty, and a walk by hand confirms there is nothing to find.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { version } from "node:os";
import { describe, expect, it } from "vitest";
import {
  btfGetNextId,
  btfInfo,
  BtfInfoLayout,
  type BtfInfo,
  compareKernelVersions,
  hasFeature,
  kernelBtfObjects,
  kernelModuleBtfs,
  kernelVersion,
  moduleBtfCache,
  openBtfById,
  probeFeature,
  vmlinuxBtfBytes,
} from "@x/sys";
import { haveKernel } from "./kernel.js";

const SYSFS_BTF = "/sys/kernel/btf";
/** Modules with BTF as sysfs lists them. */
const sysfsModules = (): Set<string> => new Set(existsSync(SYSFS_BTF) ? readdirSync(SYSFS_BTF).filter((n) => n !== "vmlinux") : []);
const loadedModules = (): string[] =>
  existsSync("/proc/modules") ? readFileSync("/proc/modules", "utf8").split("\n").filter(Boolean).map((l) => l.split(" ")[0]!) : [];
const isBtf = (b: Uint8Array): boolean => b.byteLength >= 24 && (b[0]! | (b[1]! << 8)) === 0xeb9f; // magic, host order (little-endian)

describe.runIf(haveKernel)("kernel BTF objects", () => {
  const since511 = compareKernelVersions(kernelVersion(), "5.11") >= 0;

  it("module_btf is there exactly from 5.11 (before, the kernel refuses bpf_btf_info's name with E2BIG)", () => {
    expect(hasFeature("module_btf")).toBe(since511);
    if (!since511) expect(probeFeature("module_btf")).toMatchObject({ status: "missing", errno: "E2BIG" });
  });

  it("from 5.11 the walk finds vmlinux's BTF object (kernel_btf set), the size of /sys/kernel/btf/vmlinux", () => {
    const objects = kernelBtfObjects();
    if (!since511) {
      expect(objects).toEqual([]);
      return;
    }
    const vmlinux = objects.filter((o) => o.name === "vmlinux");
    expect(vmlinux).toHaveLength(1);
    expect(vmlinux[0]!.size).toBe(vmlinuxBtfBytes().byteLength);
    // Opened by id, it is kernel BTF named vmlinux: what the walk read is what the kernel says.
    using fd = openBtfById(vmlinux[0]!.id);
    expect(btfInfo(fd)).toMatchObject({ id: vmlinux[0]!.id, name: "vmlinux", kernelBtf: true });
  });

  it("the module list is every module with BTF (sysfs agrees), each one's bytes are BTF and its /sys/kernel/btf file", () => {
    const before = sysfsModules();
    const modules = kernelModuleBtfs();
    const after = sysfsModules();
    if (!since511) {
      expect(modules).toEqual([]);
      return;
    }
    const names = new Set(modules.map((m) => m.name));
    // Other test files may load modules meanwhile: what sysfs listed before and after is found, and nothing it never listed.
    for (const n of before) if (after.has(n)) expect(names, n).toContain(n);
    for (const n of names) expect(before.has(n) || after.has(n), n).toBe(true);
    expect(modules.map((m) => m.id)).toEqual([...modules.map((m) => m.id)].sort((a, b) => a - b));
    expect(names.has("vmlinux")).toBe(false);
    for (const m of modules) {
      expect(isBtf(m.bytes), m.name).toBe(true);
      expect(Buffer.from(m.bytes).equals(readFileSync(`${SYSFS_BTF}/${m.name}`)), m.name).toBe(true);
      using fd = openBtfById(m.id);
      expect(btfInfo(fd), m.name).toMatchObject({ id: m.id, name: m.name, kernelBtf: true, btfSize: m.bytes.byteLength });
    }
    // The VM guests (Debian kernels, CONFIG_DEBUG_INFO_BTF_MODULES=y) boot with modules loaded.
    if (/Debian \d/.test(version()) && loadedModules().length > 0) expect(modules.length).toBeGreaterThan(0);
    if (loadedModules().length === 0) expect(modules).toEqual([]);
  });

  it("bytes are read once per module per process; the list is walked again", () => {
    const a = kernelModuleBtfs();
    const b = kernelModuleBtfs();
    expect(moduleBtfCache.size).toBeGreaterThanOrEqual(a.length);
    for (const m of a) {
      const again = b.find((x) => x.id === m.id);
      if (again) expect(again.bytes).toBe(m.bytes);
    }
  });

  it("before 5.11 there is truly nothing to find: no BTF object is kernel BTF or named vmlinux", () => {
    if (since511) return; // the walk above covers it
    for (let id = btfGetNextId(0); id !== undefined; id = btfGetNextId(id)) {
      let info: BtfInfo;
      try {
        using fd = openBtfById(id);
        info = btfInfo(fd);
      } catch {
        continue; // freed since (another test's BTF)
      }
      // The kernel's bpf_btf_info ends at id: no name, no kernel_btf (the module_btf probe's signal).
      expect(info.infoLen, `BTF ${id}`).toBeLessThanOrEqual(BtfInfoLayout.field("name").offset);
      expect(info.kernelBtf, `BTF ${id}`).toBe(false);
    }
    // Modules are loaded (the VM guest's virtio and 9p), but none has BTF.
    expect(sysfsModules().size).toBe(0);
  });
});

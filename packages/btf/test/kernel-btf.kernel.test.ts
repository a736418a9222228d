// The running kernel's BTF: vmlinux's as a base, and every module's (/sys/kernel/btf/<module>) as
// split BTF on it. Named *.kernel.test.ts so the VM matrix runs it on every kernel: the host may
// have no module BTF (then a module-like split built on vmlinux stands in), the VM kernels have some
// (5.10 has none: module BTF came in 5.11). Reading /sys/kernel/btf needs no privileges.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { Btf, formatType, parseBtf, parseBtfHeader, typeRefs } from "@x/btf";
import { btfStringSection, expectLazyLikeEager, expectSplitLikeLibbpf, hasBpftool, hasVmlinux } from "./helpers.js";

const SYS_BTF = "/sys/kernel/btf";

/** Every own type's references resolve (in the split or in vmlinux), every own type can be spelled, and structs, unions and pointers sized. */
function expectResolves(b: Btf): void {
  for (let id = b.startId; id < b.count; id++) {
    const t = b.type(id);
    for (const r of typeRefs(t)) expect(r).toBeLessThan(b.count);
    if (t.kind === "STRUCT" || t.kind === "UNION" || t.kind === "PTR") expect(b.sizeof(id)).toBeGreaterThanOrEqual(0);
    expect(formatType(b, id)).not.toBe("");
  }
}

// Outside CI a kernel without BTF skips the file; in CI reading it fails loudly.
const run = hasVmlinux || !!process.env.CI;

describe.runIf(run)("the running kernel's BTF", () => {
  const vmlinuxBytes = run ? new Uint8Array(readFileSync(`${SYS_BTF}/vmlinux`)) : new Uint8Array();
  const vmlinux = run ? parseBtf(vmlinuxBytes) : new Btf();
  /** vmlinux opened lazily, as the loader does: each module is also parsed (lazily) on it. */
  const lazyVmlinux = run ? parseBtf(vmlinuxBytes, { lazy: true }) : new Btf();
  const modules = run ? readdirSync(SYS_BTF).filter((n) => n !== "vmlinux").sort() : [];

  test("vmlinux parses as a base: no base of its own, ids from 1, its string table the whole string space", () => {
    expect(vmlinux.base).toBeUndefined();
    expect(vmlinux.startId).toBe(1);
    expect(vmlinux.count).toBeGreaterThan(10_000);
    expect(vmlinux.sourceStrings!.start).toBe(0);
    expect(vmlinux.sourceStrings!.end).toBe(parseBtfHeader(vmlinuxBytes).str_len);
  });

  if (modules.length > 0) {
    test.each(modules)("module %s: its split BTF parses on vmlinux and every type resolves", (m) => {
      const bytes = new Uint8Array(readFileSync(`${SYS_BTF}/${m}`));
      const b = parseBtf(bytes, { base: vmlinux });
      expect(b.startId).toBe(vmlinux.count);
      expect(b.base).toBe(vmlinux);
      expectResolves(b);
      expect(parseBtf(b.encode(), { base: vmlinux }).ownTypes()).toEqual(b.ownTypes());
      if (hasBpftool) expectSplitLikeLibbpf(b, `${SYS_BTF}/vmlinux`, `${SYS_BTF}/${m}`);
      const lazy = parseBtf(bytes, { base: lazyVmlinux, lazy: true });
      expect(lazy.base).toBe(lazyVmlinux);
      expectLazyLikeEager(b, lazy);
      expect(parseBtf(bytes, { base: lazyVmlinux }).encode()).toEqual(b.encode());
    });
  } else {
    test("no module BTF on this kernel: only vmlinux, and a module-like split built on it parses as one", () => {
      expect(readdirSync(SYS_BTF)).toEqual(["vmlinux"]);
      const split = Btf.split(vmlinux);
      const task = vmlinux.find("task_struct", "STRUCT")!;
      const ptr = split.add({ kind: "PTR", name: "", type: task });
      const st = split.add({ kind: "STRUCT", name: "xbpf_test_mod_state", size: 16, kindFlag: false, members: [
        { name: "task", type: ptr, bitOffset: 0, bitSize: 0 },
        { name: "pid", type: vmlinux.find("pid_t", "TYPEDEF")!, bitOffset: 64, bitSize: 0 },
      ] });
      const proto = split.add({ kind: "FUNC_PROTO", name: "", returnType: ptr, params: [{ name: "p", type: ptr }] });
      split.add({ kind: "FUNC", name: "xbpf_test_kfunc", type: proto, linkage: "static" });
      const { bytes, stringOffset } = split.encodeWithStrings();
      // Names vmlinux has keep vmlinux's offsets; only the others are in the split's own strings.
      const theirs = ["task", "pid", "p"].filter((s) => vmlinux.sourceStrings!.offsetOf(s) !== undefined);
      for (const s of theirs) expect(stringOffset(s)).toBe(vmlinux.sourceStrings!.offsetOf(s));
      const mine = ["xbpf_test_mod_state", ...["task", "pid", "p"].filter((s) => !theirs.includes(s)), "xbpf_test_kfunc"];
      expect(new TextDecoder().decode(btfStringSection(bytes)).split("\0").slice(0, -1).sort()).toEqual(mine.sort());
      const b = parseBtf(bytes, { base: vmlinux });
      expect(b.startId).toBe(vmlinux.count);
      expectResolves(b);
      expect(b.sizeof(st)).toBe(16);
      expect(formatType(b, st + 2)).toBe("static struct task_struct *xbpf_test_kfunc(struct task_struct *p)");
      expect(b.find("task_struct")).toBeUndefined();
      if (hasBpftool) expectSplitLikeLibbpf(b, `${SYS_BTF}/vmlinux`, bytes);
      // The same on the lazy vmlinux: built on it, and parsed (eagerly and lazily) on it.
      const onLazy = Btf.split(lazyVmlinux, split.ownTypes());
      expect(onLazy.encode()).toEqual(bytes);
      const lazy = parseBtf(bytes, { base: lazyVmlinux, lazy: true });
      expectLazyLikeEager(b, lazy);
      expect(formatType(lazy, st + 2)).toBe("static struct task_struct *xbpf_test_kfunc(struct task_struct *p)");
      expect(lazy.sizeof(st)).toBe(16);
      expect(lazyVmlinux.lazyStats()!.decoded).toBeLessThan(100); // only what the split's types lead to
    });
  }
});

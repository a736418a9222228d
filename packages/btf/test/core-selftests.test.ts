// The kernel's CO-RE selftest cases (prog_tests/core_reloc.c of linux-source-6.12, built by
// tools/core-reloc-cases.mjs into a per-machine cache): each case's object relocated against its
// target BTF (a btf__core_reloc_*.c object, or the running kernel's), as a loader would, with no
// kernel. The cases that must fail do (an error, or a poisoned instruction the verifier would
// reach), the others do not. With root, gcc and libbpf-dev, libbpf 1.1 (core-clang/harness.c,
// btf_custom_path) relocates the same object: every instruction libbpf's CO-RE pass produced is
// ours, and it fails on the same relocation when it fails. Running the programs (their outputs) is
// the loader's test, not this one.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CoreRelocationError } from "@x/btf";
import { CORE_POISON_IMM, LD_IMM64, PseudoCall, type Instruction } from "@x/reloc";
import { coreRelocPrerequisites, loadCoreRelocCases, type CoreRelocCase } from "../../../tools/test/core-reloc.js";
import { libbpf, type Relocated, relocate } from "./core-helpers.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const has = (cmd: string, args: string[]) => { try { execFileSync(cmd, args, { stdio: "ignore" }); return true; } catch { return false; } };
const missing = coreRelocPrerequisites();
const cases: CoreRelocCase[] = missing === undefined ? loadCoreRelocCases() : [];
const canLibbpf = process.getuid?.() === 0 && existsSync("/usr/include/bpf/libbpf.h") && has("gcc", ["--version"]);
if (process.env.CI && (missing !== undefined || !canLibbpf)) {
  throw new Error(`core-selftests cannot run in CI: ${missing ?? "the libbpf comparison needs root, libbpf.h and gcc"}. Refusing to skip.`);
}
if (missing !== undefined) console.warn(`core-selftests: skipped: ${missing}`);

let dir = "";
let harness = "";
beforeAll(() => {
  if (!canLibbpf || cases.length === 0) return;
  dir = mkdtempSync(join(tmpdir(), "x-btf-core-selftests-"));
  harness = join(dir, "harness");
  execFileSync("gcc", ["-O1", "-Wall", "-o", harness, fileURLToPath(new URL("./core-clang/harness.c", import.meta.url)), "-lbpf"], { stdio: "pipe" });
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** A case runs here unless it needs bpf_testmod's BTF, or the running kernel's and there is none. */
const runnable = (c: CoreRelocCase) => c.targetBtfSource === "file" || (c.targetBtfSource === "vmlinux" && existsSync(VMLINUX));

/** Ours: the relocated programs, or the error. */
function ours(c: CoreRelocCase): Relocated | CoreRelocationError {
  try {
    return relocate(c.object, c.targetBtf ?? VMLINUX);
  } catch (e) {
    if (e instanceof CoreRelocationError) return e;
    throw e;
  }
}

/**
 * Where libbpf's instructions may differ from ours for reasons other than CO-RE: map and data
 * references (`ld_imm64` with a pseudo source, both slots) and subprogram calls.
 */
function notCore(insns: readonly Instruction[], i: number): boolean {
  const insn = insns[i]!;
  const prev = insns[i - 1];
  if (insn.code === LD_IMM64 && insn.srcReg !== 0) return true;
  if (prev?.code === LD_IMM64 && prev.srcReg !== 0) return true;
  return insn.code === 0x85 && insn.srcReg === PseudoCall.CALL;
}

describe.skipIf(cases.length === 0)("the kernel's CO-RE selftest cases (core_reloc.c)", () => {
  test("all 77 cases, 74 of them runnable here without bpf_testmod", () => {
    expect(cases).toHaveLength(77);
    expect(cases.filter((c) => c.targetBtfSource === "kernel-modules").map((c) => c.name)).toEqual(["module_probed", "module_direct"]);
  });

  test.each(cases.filter(runnable).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const r = ours(c);
    if (c.fails) {
      // refused, or a poisoned instruction in the program the selftest loads
      const poisoned = !(r instanceof CoreRelocationError) && r.programs.get(c.program)!.some((i) => i.imm === CORE_POISON_IMM && i.code === 0x85);
      expect(r instanceof CoreRelocationError || poisoned, `${c.name} must fail`).toBe(true);
    } else {
      expect(r).not.toBeInstanceOf(CoreRelocationError);
    }
    if (!canLibbpf) return;

    const theirs = libbpf(harness, c.object, c.targetBtf ?? VMLINUX);
    const failed = theirs.log.map((l) => /^prog '([^']+)': relo #(\d+): failed to relocate/.exec(l)).find((m) => m !== null);
    if (r instanceof CoreRelocationError) {
      expect(failed, `libbpf relocates what we refuse: ${r.message}`).toBeDefined();
      expect(r.message).toMatch(new RegExp(`^prog '${failed![1]}': relo #${failed![2]}: `));
      return;
    }
    expect(failed, "libbpf refuses what we relocate").toBeUndefined();
    for (const [name, insns] of r.programs) {
      const lib = theirs.programs.get(name)!;
      expect(lib.length).toBeGreaterThanOrEqual(insns.length);
      insns.forEach((insn, i) => {
        if (!notCore(lib, i)) expect(insn, `${name} insn #${i}`).toEqual(lib[i]);
      });
    }
  });
});

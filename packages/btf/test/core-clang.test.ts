// CO-RE on real clang output: core-clang/prog.bpf.c (direct accesses to preserve_access_index
// structs and libbpf's bpf_core_* macros) compiled with clang-19, relocated against the BTF of
// core-clang/target.c (the same types in other layouts, as the selftests' btf__core_reloc_*.c), with
// the instructions patched by @x/reloc's patchCoreInstruction as a loader would.
//
// Then against libbpf itself (root, gcc, libbpf-dev: Debian's libbpf 1.1): core-clang/harness.c
// opens the same object with the same target BTF (bpf_object_open_opts.btf_custom_path), loads it
// and prints libbpf's relocated instructions, which must equal ours instruction for instruction.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { CoreRelocationResult } from "@x/btf";
import { formatInstructions, RelocationError } from "@x/reloc";
import { libbpf, relocate } from "./core-helpers.js";

const SRC = fileURLToPath(new URL("./core-clang/", import.meta.url));
const has = (cmd: string, args: string[]) => { try { execFileSync(cmd, args, { stdio: "ignore" }); return true; } catch { return false; } };
const canCompile = has("clang-19", ["--version"]) && existsSync("/usr/include/bpf/bpf_core_read.h");
const canLibbpf = canCompile && process.getuid?.() === 0 && existsSync("/usr/include/bpf/libbpf.h") && has("gcc", ["--version"]);
const VMLINUX = "/sys/kernel/btf/vmlinux";
const canVmlinux = canCompile && existsSync(VMLINUX) && has("bpftool", ["version"]);
// In CI every part runs: a missing prerequisite is a loud failure, never a skip.
if (process.env.CI && !(canCompile && canLibbpf && canVmlinux)) {
  throw new Error(`core-clang tests cannot run in CI: need clang-19 and libbpf-dev's headers (${canCompile}), root, libbpf.h and gcc (${canLibbpf}), ${VMLINUX} and bpftool (${canVmlinux}). Refusing to skip.`);
}
const MULTIARCH = ["/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu"].filter(existsSync).map((d) => `-I${d}`);

let dir = "";
const obj = (name: string) => join(dir, name);
beforeAll(() => {
  if (!canCompile) return;
  dir = mkdtempSync(join(tmpdir(), "x-btf-core-"));
  for (const name of ["prog", "enum-u32", "flavours", "ambiguous"]) {
    const target = name === "prog" ? "target" : `${name}-target`;
    for (const [src, out] of [[`${name}.bpf.c`, `${name}.o`], [`${target}.c`, `${target}.o`]]) {
      execFileSync("clang-19", ["-O2", "-g", "-target", "bpf", ...MULTIARCH, "-c", join(SRC, src!), "-o", obj(out!)], { stdio: "pipe" });
    }
  }
  if (canLibbpf) execFileSync("gcc", ["-O1", "-Wall", "-o", obj("harness"), join(SRC, "harness.c"), "-lbpf"], { stdio: "pipe" });
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** `<spec> => orig -> new`, `=> poison`, `=> 0 (why)`. */
function summary(r: CoreRelocationResult): string {
  if (r.poison) return `${r.localSpec} => poison: ${r.reason}`;
  const v = `${r.origVal} -> ${r.newVal}`;
  return `${r.localSpec} => ${r.reason ? `${v}: ${r.reason}` : v}`;
}

describe.skipIf(!canCompile)("CO-RE relocations of clang-19 output", () => {
  test("every relocation's values, worked out by hand from the two layouts", () => {
    const { results } = relocate(obj("prog.o"), obj("target.o"));
    // local: struct inner { int a; unsigned b:3, c:5; long d; int s:4; } (24 bytes), struct foo at
    // x 0, {y 4, z 6}, in 16, arr 40, p 88, u 96, s 100, gone_field 104, flex 108.
    // target: struct inner { long d; int a; unsigned b:4, c:7; int s:9; } (16 bytes), struct foo at
    // new_first 0, x 8, {pad 16, y 24, z 26}, in 40, arr 56, p 104, u 112, s 120, flex 128.
    expect(results.map(summary)).toEqual([
      "<byte_off> [2] struct foo.x (0:0 @ offset 0) => 0 -> 8",
      "<byte_off> [2] struct foo.y (0:1:0 @ offset 4) => 4 -> 24",
      "<byte_off> [2] struct foo.z[2] (0:1:1:2 @ offset 8) => 8 -> 28",
      "<byte_off> [2] struct foo.in.d (0:2:3 @ offset 24) => 24 -> 40",
      // BPF_CORE_READ_BITFIELD(&f->in, b): &f->in, then b's load offset, size, shifts, signedness
      "<byte_off> [2] struct foo.in (0:2 @ offset 16) => 16 -> 40",
      "<byte_off> [2] struct foo.in.b (0:2:1 @ offset 20) => 20 -> 52", // the u32 holding bits 160..162; 416..419 in the target
      "<byte_off> [2] struct foo.arr[1].d (0:3:1:3 @ offset 72) => 72 -> 72",
      "<byte_off> [2] struct foo.p (0:4 @ offset 88) => 88 -> 104",
      "<byte_off> [2] struct foo.u (0:5 @ offset 96) => 96 -> 112",
      "<byte_off> [2] struct foo.flex[3] (0:8:3 @ offset 120) => 120 -> 140",
      "<byte_sz> [2] struct foo.in.b (0:2:1 @ offset 20) => 4 -> 4",
      "<lshift_u64> [2] struct foo.in.b (0:2:1 @ offset 20) => 61 -> 60",
      "<signed> [2] struct foo.in.b (0:2:1 @ offset 20) => 0 -> 0",
      "<rshift_u64> [2] struct foo.in.b (0:2:1 @ offset 20) => 61 -> 60",
      "<rshift_u64> [2] struct foo.in.b (0:2:1 @ offset 20) => 61 -> 60",
      "<byte_off> [2] struct foo.in (0:2 @ offset 16) => 16 -> 40",
      "<byte_off> [2] struct foo.in.c (0:2:2 @ offset 20.3) => 20 -> 52",
      "<byte_sz> [2] struct foo.in.c (0:2:2 @ offset 20.3) => 4 -> 4",
      "<lshift_u64> [2] struct foo.in.c (0:2:2 @ offset 20.3) => 56 -> 53",
      "<signed> [2] struct foo.in.c (0:2:2 @ offset 20.3) => 0 -> 0",
      "<rshift_u64> [2] struct foo.in.c (0:2:2 @ offset 20.3) => 59 -> 57",
      "<rshift_u64> [2] struct foo.in.c (0:2:2 @ offset 20.3) => 59 -> 57",
      "<byte_off> [2] struct foo.in (0:2 @ offset 16) => 16 -> 40",
      // s: local int s:4 at bit 256 of foo; target int s:9 at bits 427..435: bits 11..19 of the u32 at 52
      "<byte_off> [2] struct foo.in.s (0:2:4 @ offset 32) => 32 -> 52",
      "<byte_sz> [2] struct foo.in.s (0:2:4 @ offset 32) => 4 -> 4",
      "<lshift_u64> [2] struct foo.in.s (0:2:4 @ offset 32) => 60 -> 44",
      "<signed> [2] struct foo.in.s (0:2:4 @ offset 32) => 1 -> 1",
      "<rshift_u64> [2] struct foo.in.s (0:2:4 @ offset 32) => 60 -> 55",
      "<rshift_u64> [2] struct foo.in.s (0:2:4 @ offset 32) => 60 -> 55",
      "<field_exists> [2] struct foo.gone_field (0:7 @ offset 104) => 1 -> 0: field 'gone_field' not found in struct foo of vmlinux",
      "<byte_off> [2] struct foo.gone_field (0:7 @ offset 104) => poison: field 'gone_field' not found in struct foo of vmlinux",
      "<byte_sz> [2] struct foo.z (0:1:1 @ offset 6) => 4 -> 8",
      "<byte_off> [2] struct foo.in.c (0:2:2 @ offset 20.3) => 20 -> 52",
      "<type_exists> [17] struct only_local => 1 -> 0: no struct 'only_local' in vmlinux",
      "<type_exists> [18] typedef foo_t => 1 -> 1",
      "<type_size> [2] struct foo => 112 -> 128",
      "<target_type_id> [2] struct foo => 2 -> 2",
      "<local_type_id> [2] struct foo => 2 -> 2",
      "<type_matches> [9] struct inner => 1 -> 1",
      expect.stringMatching(/^<type_matches> \[2\] struct foo => 1 -> 0: struct foo of vmlinux does not match: \[2\] struct foo vs \[2\] struct foo: member '<anon>' does not match: .*4 vs 8 elements$/),
      "<enumval_exists> [19] enum e32::B = 2 => 1 -> 1",
      "<enumval_value> [19] enum e32::C = 3 => 3 -> 30",
      "<enumval_value> [20] enum64 e64::Y = 4294967296 => 4294967296 -> 18446744069414584322",
      "<enumval_value> [21] enum es::S1 = -5 => 18446744073709551611 -> 18446744073709551516",
      "<enumval_exists> [21] enum es::S2 = 7 => 1 -> 0: enumerator 'S2' not found in enum es of vmlinux",
      "<enumval_exists> [22] enum gone_enum::G = 1 => 1 -> 0: no enum 'gone_enum' in vmlinux",
      "<enumval_value> [22] enum gone_enum::G = 1 => poison: no enum 'gone_enum' in vmlinux",
      "<field_exists> [23] struct foo___v2.newfield (0:1 @ offset 8) => 1 -> 0: field 'newfield' not found in struct foo of vmlinux",
      "<byte_off> [23] struct foo___v2.x (0:0 @ offset 0) => 0 -> 8",
      "<byte_off> [2] struct foo.s (0:6 @ offset 100) => 100 -> 120",
    ]);
    const u = results.find((r) => r.localSpec.includes("foo.u "))!;
    expect([u.origSize, u.newSize, u.failMemszAdjust]).toEqual([4, 8, false]);
    const s = results.find((r) => r.localSpec.includes("foo.s "))!;
    expect([s.origSize, s.newSize, s.failMemszAdjust]).toEqual([4, 8, true]);
    const tid = results.find((r) => r.kind === "TYPE_ID_TARGET")!;
    expect(tid.validate).toBe(false);
  });

  test("the patched instructions", () => {
    const { programs, log } = relocate(obj("prog.o"), obj("target.o"));
    const lines = formatInstructions(programs.get("prog")!).split("\n").map((l) => l.trim());
    const at = (i: number) => lines.find((l) => l.startsWith(`${i}: `));
    expect(at(0)).toBe("0: r3 = *(u32 *)(r1 + 8)");
    expect(at(19)).toBe("19: r3 = *(u64 *)(r1 + 112)"); // f->u: unsigned int grew to unsigned long
    expect(at(104)).toBe("104: call 195896080"); // the guarded f->gone_field
    expect([at(144), at(145)]).toEqual(["144: call 195896080", "145: call 195896080"]); // enum value of a missing enum: both slots
    expect(formatInstructions(programs.get("signed_resize")!).split("\n")[0]!.trim()).toBe("0: call 195896080");
    expect(log).toContain("prog 'signed_resize': relo #49: insn #0 (LDX/ST/STX) accesses field incorrectly. Make sure you are accessing pointers, unsigned integers, or fields of matching type and size.");
    expect(log).toContain("prog 'prog': relo #8: patched insn #19 (LDX/ST/STX) off 96 -> 112, mem_sz 4 -> 8");
  });

  test("an unsigned 32-bit enumerator of 2^31 or more is refused, as libbpf refuses it", () => {
    let err: unknown;
    try { relocate(obj("enum-u32.o"), obj("enum-u32-target.o")); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RelocationError);
    expect(err).toMatchObject({
      code: "RELOC_CORE_MISMATCH",
      message: expect.stringMatching(/^prog 'prog': relo #1: unexpected insn #\d+ \(LDIMM64\) value: got 2147483648, exp 18446744071562067968 -> 18446744071830503424 \(<enumval_value> \[\d+\] enum big::BIG = 2147483648\)$/),
    });
  });

  test("flavours, and candidates narrowed by earlier relocations (libbpf's cand_cache)", () => {
    const { results, programs } = relocate(obj("flavours.o"), obj("flavours-target.o"));
    expect(results.map(summary)).toEqual([
      "<byte_off> [2] struct narrow.a (0:0 @ offset 0) => 0 -> 0",
      "<byte_off> [2] struct narrow.b (0:1 @ offset 4) => 4 -> 4",
      // only narrow___x had b: struct narrow, which has c, is no candidate any more
      "<field_exists> [2] struct narrow.c (0:2 @ offset 8) => 1 -> 0: field 'c' not found in struct narrow___x of vmlinux",
      "<byte_off> [2] struct narrow.c (0:2 @ offset 8) => poison: field 'c' not found in struct narrow___x of vmlinux",
      "<byte_off> [6] struct wide___old.b (0:1 @ offset 4) => 4 -> 12",
      "<byte_sz> [6] struct wide___old.b (0:1 @ offset 4) => 2 -> 2",
      "<enumval_value> [8] enum state___v2::ST_ON___v2 = 1 => 1 -> 7",
      "<type_size> [6] struct wide___old => 8 -> 16",
    ]);
    expect(results.map((r) => r.matches)).toEqual([2, 1, 0, 0, 1, 1, 1, 1]);
    expect(programs.get("prog")!.filter((i) => i.imm === 195896080)).toHaveLength(1);
  });

  test("kernel flavours that disagree: the relocation is ambiguous", () => {
    expect(() => relocate(obj("ambiguous.o"), obj("ambiguous-target.o"))).toThrow(expect.objectContaining({
      code: "CORE_AMBIGUOUS",
      message: "prog 'prog': relo #0: field offset ambiguity: 64 != 0: <byte_off> [5] struct dup___2.a (0:1 @ offset 8) in vmlinux vs <byte_off> [2] struct dup.a (0:0 @ offset 0) in vmlinux",
      location: expect.objectContaining({ program: "prog", section: "socket", insnIndex: 0, btfTypeId: 2 }),
    }));
  });

  describe.skipIf(!canLibbpf)("against libbpf (Debian's 1.1, btf_custom_path)", () => {
    test.each([
      ["prog", "target", ["prog", "signed_resize"]],
      ["flavours", "flavours-target", ["prog"]],
    ])("%s.bpf.c: the same instructions as libbpf, instruction for instruction", (name, target, names) => {
      const ours = relocate(obj(`${name}.o`), obj(`${target}.o`));
      const theirs = libbpf(obj("harness"), obj(`${name}.o`), obj(`${target}.o`));
      expect([...theirs.programs.keys()]).toEqual(names);
      for (const [name, insns] of theirs.programs) {
        expect(formatInstructions(ours.programs.get(name)!)).toBe(formatInstructions(insns));
        expect(ours.programs.get(name)).toEqual(insns);
      }
      // libbpf's spec of each relocation is ours
      const specs = theirs.log.map((l) => /^prog '[^']+': relo #(\d+): (<[^>]+> .*)$/.exec(l)).filter((m) => m !== null);
      const firstSpec = new Map<number, string>();
      for (const m of specs) if (!firstSpec.has(Number(m[1]))) firstSpec.set(Number(m[1]), m[2]!);
      expect([...firstSpec.values()]).toEqual(ours.results.map((r) => r.localSpec));
      // and the first matching candidate's
      for (const [i, r] of ours.results.entries()) {
        const m = theirs.log.map((l) => new RegExp(`^prog '[^']+': relo #${i}: matching candidate #\\d+ (.*)$`).exec(l)).find((x) => x !== null);
        expect(m?.[1], `relo #${i}`).toBe(r.target?.spec);
      }
    });

    test("libbpf finds the same ambiguity", () => {
      expect(libbpf(obj("harness"), obj("ambiguous.o"), obj("ambiguous-target.o")).log).toContain("prog 'prog': relo #0: field offset ambiguity: 64 != 0");
    });

    test("libbpf refuses the unsigned 32-bit enumerator too", () => {
      const theirs = libbpf(obj("harness"), obj("enum-u32.o"), obj("enum-u32-target.o"));
      expect(theirs.log.some((l) => /relo #1: unexpected insn #\d+ \(LDIMM64\) value: got 2147483648, exp 18446744071562067968 -> 18446744071830503424/.test(l))).toBe(true);
    });
  });
});

describe.skipIf(!canVmlinux)("CO-RE against the running kernel's BTF", () => {
  /** core-clang/vmlinux.bpf.c, compiled against a vmlinux.h of this kernel. */
  function compileVmlinux(): string {
    const header = join(dir, "vmlinux.h");
    if (!existsSync(header)) {
      const c = execFileSync("bpftool", ["btf", "dump", "file", VMLINUX, "format", "c"], { maxBuffer: 1 << 28 });
      writeFileSync(header, c);
      execFileSync("clang-19", ["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86", `-I${dir}`, "-c", join(SRC, "vmlinux.bpf.c"), "-o", obj("vmlinux.o")], { stdio: "pipe" });
    }
    return obj("vmlinux.o");
  }

  test("typical kernel reads: every relocation resolves, and the renamed field is missing", () => {
    const { results, programs } = relocate(compileVmlinux(), VMLINUX);
    for (const r of results) expect(r.target !== undefined || r.reason !== undefined, r.localSpec).toBe(true);
    expect(results.find((r) => r.localSpec.includes("task_struct.pid "))!.target!.spec).toMatch(/^<byte_off> \[\d+\] struct task_struct\.pid \(0:\d+ @ offset \d+\)$/);
    const old = results.find((r) => r.localSpec.includes("task_struct___old.state"))!;
    expect(old).toMatchObject({ kind: "FIELD_EXISTS", newVal: 0n, reason: "field 'state' not found in struct task_struct of vmlinux" });
    expect(programs.get("probe")!.some((i) => i.imm === 195896080)).toBe(false);
  });

  test.skipIf(!canLibbpf)("the same instructions as libbpf", () => {
    const path = compileVmlinux();
    const ours = relocate(path, VMLINUX);
    const theirs = libbpf(obj("harness"), path, VMLINUX);
    expect(ours.programs.get("probe")).toEqual(theirs.programs.get("probe"));
  });
});

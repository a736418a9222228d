// typesAreCompatible: libbpf's __bpf_core_types_are_compat (relo_core.c), rule by rule, then against
// the host's vmlinux with prototypes built the way clang emits them for kfunc declarations.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { Btf, BtfError, essentialName, parseBtf, typesAreCompatible, type BtfType } from "@x/btf";
import { hasVmlinux } from "./helpers.js";

const int = (name: string, size: number, offset = 0): BtfType => ({ kind: "INT", name, size, encoding: 1, offset, bits: size * 8 });
const struct = (name: string, size = 8): BtfType => ({ kind: "STRUCT", name, size, kindFlag: false, members: [] });
const ptr = (type: number): BtfType => ({ kind: "PTR", name: "", type });
const proto = (returnType: number, ...params: number[]): BtfType => ({ kind: "FUNC_PROTO", name: "", returnType, params: params.map((type) => ({ name: "", type })) });

/**
 * Ids 1..: int, long, char, struct task_struct, union u, enum e (4 bytes), enum64 e64, fwd
 * task_struct, int with a bit offset, float, typedef pid_t → int, const pid_t, volatile → const.
 */
const common: BtfType[] = [
  int("int", 4), //                                                               1
  int("long", 8), //                                                              2
  { kind: "INT", name: "char", size: 1, encoding: 2, offset: 0, bits: 8 }, //     3
  struct("task_struct", 16), //                                                   4
  { kind: "UNION", name: "u", size: 8, kindFlag: false, members: [] }, //         5
  { kind: "ENUM", name: "e", size: 4, signed: false, values: [] }, //             6
  { kind: "ENUM64", name: "e64", size: 8, signed: false, values: [] }, //         7
  { kind: "FWD", name: "task_struct", union: false }, //                          8
  int("int", 4, 3), //                                                            9: bitfield-like
  { kind: "FLOAT", name: "float", size: 4 }, //                                   10
  { kind: "TYPEDEF", name: "pid_t", type: 1 }, //                                 11
  { kind: "CONST", name: "", type: 11 }, //                                       12
  { kind: "VOLATILE", name: "", type: 12 }, //                                    13
  struct("other_name", 99), //                                                    14
  { kind: "ARRAY", name: "", type: 1, indexType: 1, nelems: 4 }, //               15
  { kind: "ARRAY", name: "", type: 2, indexType: 1, nelems: 16 }, //              16
  { kind: "ARRAY", name: "", type: 4, indexType: 1, nelems: 4 }, //               17
];
const N = common.length + 1; // first free id

/** Two BTFs sharing `common`, each with extra types from id N on. */
function pair(local: BtfType[], target: BtfType[]): [Btf, Btf] {
  return [new Btf([...common, ...local]), new Btf([...common, ...target])];
}
function check(local: BtfType[], localId: number, target: BtfType[], targetId: number): true | string {
  const [l, t] = pair(local, target);
  return typesAreCompatible(l, localId, t, targetId);
}

describe("typesAreCompatible: libbpf's rules", () => {
  test.each([
    ["int vs long: any two INTs, whatever their sizes", 1, 2],
    ["char vs long", 3, 2],
    ["ENUM vs ENUM64 (one kind for CO-RE), whatever their sizes", 6, 7],
    ["STRUCT vs STRUCT: names and sizes are not compared", 4, 14],
    ["FWD vs FWD", 8, 8],
    ["void vs void", 0, 0],
    ["arrays of different lengths and element sizes (int[4] vs long[16])", 15, 16],
  ])("compatible: %s", (_n, a, b) => {
    const [l, t] = pair([], []);
    expect(typesAreCompatible(l, a, t, b)).toBe(true);
  });

  test.each([
    ["INT vs ENUM", 1, 6, "[1] int vs [6] enum e: INT vs ENUM"],
    ["STRUCT vs UNION", 4, 5, "[4] struct task_struct vs [5] union u: STRUCT vs UNION"],
    ["FWD vs STRUCT (a forward declaration is not the struct)", 8, 4, "[8] struct task_struct vs [4] struct task_struct: FWD vs STRUCT"],
    ["void vs int", 0, 1, "[0] void vs [1] int: VOID vs INT"],
    ["a bitfield-like INT (bit offset 3)", 9, 1, "[9] int vs [1] int: an INT with a bit offset (3 in the first) is a bitfield, never compatible"],
    ["FLOAT: a kind libbpf does not compare", 10, 10, "[10] float vs [10] float: libbpf does not compare FLOAT types"],
    ["int[4] vs struct task_struct[4]", 15, 17, "[15] int[4] vs [17] struct task_struct[4]: element: [1] int vs [4] struct task_struct: INT vs STRUCT"],
  ])("incompatible: %s", (_n, a, b, why) => {
    const [l, t] = pair([], []);
    expect(typesAreCompatible(l, a, t, b)).toBe(why);
  });

  test("modifiers and typedefs are peeled at every step, but the given types' kinds must agree", () => {
    const [l, t] = pair([], []);
    // volatile const pid_t vs int: VOLATILE vs INT before peeling, as libbpf's first check.
    expect(typesAreCompatible(l, 13, t, 1)).toBe("[13] volatile const pid_t vs [1] int: VOLATILE vs INT");
    expect(typesAreCompatible(l, 11, t, 11)).toBe(true);
    expect(typesAreCompatible(l, 13, t, 13)).toBe(true);
    // Under a pointer, everything is peeled: `const pid_t *` vs `long *`.
    expect(check([ptr(12)], N, [ptr(2)], N)).toBe(true);
    expect(check([ptr(13)], N, [ptr(4)], N)).toBe("[18] volatile const pid_t * vs [18] struct task_struct *: pointee: [1] int vs [4] struct task_struct: INT vs STRUCT");
  });

  test("pointers compare their pointees, to any depth up to libbpf's 32 steps", () => {
    expect(check([ptr(4)], N, [ptr(14)], N)).toBe(true); // struct task_struct * vs struct other_name *
    expect(check([ptr(0)], N, [ptr(0)], N)).toBe(true); // void * vs void *
    expect(check([ptr(0)], N, [ptr(1)], N)).toBe("[18] void * vs [18] int *: pointee: [0] void vs [1] int: VOID vs INT");
    expect(check([ptr(8)], N, [ptr(4)], N)).toMatch(/pointee: \[8\] struct task_struct vs \[4\] struct task_struct: FWD vs STRUCT$/);
    const chain = (depth: number): BtfType[] => Array.from({ length: depth }, (_, i) => ptr(i === 0 ? 1 : N + i - 1));
    expect(check(chain(31), N + 30, chain(31), N + 30)).toBe(true);
    expect(check(chain(32), N + 31, chain(32), N + 31)).toMatch(/more than 32 levels/);
  });

  test("FUNC_PROTO: parameter counts, each parameter, then the return type", () => {
    // int f(long) vs int f(long, long)
    expect(check([proto(1, 2)], N, [proto(1, 2, 2)], N)).toBe("[18] int (long) vs [18] int (long, long): 1 vs 2 parameters");
    // int f(void) vs int f(long)
    expect(check([proto(1)], N, [proto(1, 2)], N)).toBe("[18] int (void) vs [18] int (long): 0 vs 1 parameter");
    // Parameters: typedefs and modifiers peeled, ints of any size.
    expect(check([proto(11, 13, 3)], N, [proto(2, 1, 2)], N)).toBe(true);
    // struct task_struct *f(struct task_struct *) vs struct task_struct *f(int): parameter 1, named when it has a name.
    const local: BtfType[] = [ptr(4), { kind: "FUNC_PROTO", name: "", returnType: N, params: [{ name: "p", type: N }] }];
    expect(check(local, N + 1, [ptr(4), proto(N, 1)], N + 1))
      .toBe("[19] struct task_struct *(struct task_struct *p) vs [19] struct task_struct *(int): parameter 1 'p': [18] struct task_struct * vs [1] int: PTR vs INT");
    // The return type.
    expect(check([ptr(4), proto(N, N)], N + 1, [ptr(4), proto(1, N)], N + 1))
      .toBe("[19] struct task_struct *(struct task_struct *) vs [19] int (struct task_struct *): return type: [18] struct task_struct * vs [1] int: PTR vs INT");
    // Variadic (a last parameter of type void) matches variadic.
    expect(check([proto(1, 1, 0)], N, [proto(1, 2, 0)], N)).toBe(true);
    // A function pointer parameter recurses into its prototype.
    expect(check([proto(1, 2), ptr(N), proto(0, N + 1)], N + 2, [proto(1, 4), ptr(N), proto(0, N + 1)], N + 2))
      .toMatch(/parameter 1: \[19\] int \(\*\)\(long\) vs \[19\] int \(\*\)\(struct task_struct\): pointee: \[18\] int \(long\) vs \[18\] int \(struct task_struct\): parameter 1: \[2\] long vs \[4\] struct task_struct: INT vs STRUCT$/);
  });

  test("FUNC, VAR and DATASEC are not compared (callers pass the VAR's type, the FUNC's prototype)", () => {
    const f: BtfType = { kind: "FUNC", name: "f", type: N, linkage: "extern" };
    expect(check([proto(1), f], N + 1, [proto(1), f], N + 1)).toBe("[19] extern int f(void) vs [19] extern int f(void): libbpf does not compare FUNC types");
    const v: BtfType = { kind: "VAR", name: "v", type: 1, linkage: "global" };
    expect(check([v], N, [v], N)).toMatch(/libbpf does not compare VAR types$/);
  });

  test("the target may be split BTF: types in the split and in its base", () => {
    const base = parseBtf(new Btf(common).encode());
    const mod = Btf.split(base);
    const p = mod.add(ptr(4));
    const fp = mod.add({ kind: "FUNC_PROTO", name: "", returnType: p, params: [{ name: "t", type: p }, { name: "pid", type: 11 }] });
    const target = parseBtf(mod.encode(), { base });
    const local = new Btf([struct("task_struct", 0), ptr(1), proto(2, 2, 4), int("int", 4)]);
    expect(typesAreCompatible(local, 3, target, fp)).toBe(true);
    const wrong = new Btf([struct("task_struct", 0), ptr(1), proto(2, 2, 2)]);
    expect(typesAreCompatible(wrong, 3, target, fp)).toBe(`[3] struct task_struct *(struct task_struct *, struct task_struct *) vs [${fp}] struct task_struct *(struct task_struct *t, pid_t pid): parameter 2 'pid': [2] struct task_struct * vs [1] int: PTR vs INT`);
  });

  test("bad ids and modifier loops are BtfErrors, not answers", () => {
    const [l, t] = pair([], []);
    expect(() => typesAreCompatible(l, 999, t, 1)).toThrow(BtfError);
    expect(() => typesAreCompatible(l, 1, t, 999)).toThrow(BtfError);
    const loop = new Btf([{ kind: "CONST", name: "", type: 2 }, { kind: "VOLATILE", name: "", type: 1 }, ptr(1)]);
    expect(() => typesAreCompatible(loop, 3, loop, 3)).toThrow(expect.objectContaining({ code: "BTF_LOOP" }));
  });
});

describe("essential names (bpf_core_essential_name_len): a ___flavor suffix is not part of the name", () => {
  test.each([
    ["bpf_task_acquire___v2", "bpf_task_acquire"],
    ["task_struct___old", "task_struct"],
    ["a___b___c", "a___b"],
    ["plain", "plain"],
    ["___x", "___x"],
    ["_x___y", "_x"],
    ["foo___", "foo___"], // nothing after the separator
    ["foo____bar", "foo____bar"], // four underscores: no `x___y` pattern
    ["foo___bar____", "foo"],
  ])("%s → %s", (name, essential) => {
    expect(essentialName(name)).toBe(essential);
  });

  test("flavors do not matter to compatibility (libbpf compares no names)", () => {
    const l = new Btf([struct("task_struct___old"), ptr(1)]);
    const t = new Btf([struct("task_struct"), ptr(1)]);
    expect(typesAreCompatible(l, 2, t, 2)).toBe(true);
  });
});

const vmlinux = hasVmlinux ? parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux"))) : new Btf();

// bpf_task_acquire is a kfunc since Linux 6.2.
describe.runIf(vmlinux.find("bpf_task_acquire", "FUNC") !== undefined)("against the host's vmlinux", () => {
  const kfunc = (name: string) => vmlinux.type(vmlinux.find(name, "FUNC")!, "FUNC").type;

  /**
   * An object's BTF for `extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;`
   * as clang emits it with vmlinux.h included: the extern FUNC's prototype has unnamed parameters.
   */
  function objectBtf(taskStruct: BtfType, returns: "task" | "int", params: number): { btf: Btf; protoId: number } {
    const btf = new Btf([
      taskStruct, //                                                                1
      ptr(1), //                                                                    2
      int("int", 4), //                                                             3
    ]);
    const protoId = btf.add({ kind: "FUNC_PROTO", name: "", returnType: returns === "task" ? 2 : 3, params: Array.from({ length: params }, () => ({ name: "", type: 2 })) });
    btf.add({ kind: "FUNC", name: "bpf_task_acquire", type: protoId, linkage: "extern" });
    return { btf, protoId };
  }

  test("the clang-style prototype of bpf_task_acquire is compatible with the kernel's", () => {
    const { btf, protoId } = objectBtf(vmlinux.type(vmlinux.find("task_struct", "STRUCT")!), "task", 1);
    expect(typesAreCompatible(btf, protoId, vmlinux, kfunc("bpf_task_acquire"))).toBe(true);
  });

  test("wrong prototypes are not, and the reason names both", () => {
    const task = vmlinux.type(vmlinux.find("task_struct", "STRUCT")!);
    const target = kfunc("bpf_task_acquire");
    const returnsInt = objectBtf(task, "int", 1);
    expect(typesAreCompatible(returnsInt.btf, returnsInt.protoId, vmlinux, target))
      .toBe(`[4] int (struct task_struct *) vs [${target}] struct task_struct *(struct task_struct *p): return type: [3] int vs [${vmlinux.resolve((vmlinux.type(target, "FUNC_PROTO")).returnType)}] struct task_struct *: INT vs PTR`);
    const noParams = objectBtf(task, "task", 0);
    expect(typesAreCompatible(noParams.btf, noParams.protoId, vmlinux, target)).toMatch(/: 0 vs 1 parameter$/);
    // `struct task_struct;` forward-declared (no vmlinux.h): a FWD, which libbpf does not accept for a STRUCT.
    const fwd = objectBtf({ kind: "FWD", name: "task_struct", union: false }, "task", 1);
    expect(typesAreCompatible(fwd.btf, fwd.protoId, vmlinux, target)).toMatch(/parameter 1 'p': \[2\] struct task_struct \* vs \[\d+\] struct task_struct \*: pointee: \[1\] struct task_struct vs \[\d+\] struct task_struct: FWD vs STRUCT$/);
  });

  test("a typed ksym: `extern const int bpf_prog_active __ksym` against the kernel's VAR's type", () => {
    const v = vmlinux.find("bpf_prog_active", "VAR");
    if (v === undefined) return expect(vmlinux.find("bpf_prog_active")).toBeUndefined();
    const targetType = vmlinux.resolve(vmlinux.type(v, "VAR").type);
    const local = new Btf([int("int", 4), int("long long", 8), struct("runqueue")]);
    expect(typesAreCompatible(local, 1, vmlinux, targetType)).toBe(true);
    expect(typesAreCompatible(local, 2, vmlinux, targetType)).toBe(true); // sizes are not compared
    expect(typesAreCompatible(local, 3, vmlinux, targetType)).toBe(`[3] struct runqueue vs [${targetType}] int: STRUCT vs INT`);
  });
});

// CO-RE relocations (CoreContext.relocate) on hand-built local/target BTF pairs: every relocation
// kind, bitfields, arrays (flexible ones too), anonymous members, flavours, enums (ENUM/ENUM64,
// signed/unsigned), TYPE_MATCHES rules, ambiguity, missing fields and types (poison), candidates in
// modules and libbpf's candidate cache. Expected values are worked out by hand from relo_core.c.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test, vi } from "vitest";
import {
  Btf, type CoreBtf, CoreContext, CoreRelocationError, type CoreReloKindName, type CoreRelocationResult, coreTypesMatch, formatCoreSpec,
  parseCoreSpec,
} from "@x/btf";
import { Builder, relo } from "./core-helpers.js";

/** The common base types, at the same ids in every BTF built with it. */
function prims(b: Builder) {
  return {
    int: b.int("int", 4, true),
    uint: b.int("unsigned int", 4),
    long: b.int("long", 8, true),
    char: b.int("char", 1, true),
    short: b.int("short", 2, true),
    ulong: b.int("unsigned long", 8),
    uchar: b.int("unsigned char", 1),
    ushort: b.int("unsigned short", 2),
    vptr: 0,
  };
}

// ---- the local object's types (as clang would emit for the C below) ----
// struct inner { int a; unsigned int b:3, c:5; long d; };                           16 bytes
// struct foo { int x; struct { short y; char z[4]; }; struct inner in; struct inner arr[2]; void *p; int flex[]; };  72 bytes
const L = new Builder();
const lp = prims(L);
lp.vptr = L.ptr(0);
const lChar4 = L.array(lp.char, 4);
const lAnon = L.struct("", 6, [["y", lp.short, 0], ["z", lChar4, 16]]);
const lInner = L.struct("inner", 16, [["a", lp.int, 0], ["b", lp.uint, 32, 3], ["c", lp.uint, 35, 5], ["d", lp.long, 64]]);
const lInner2 = L.array(lInner, 2);
const lFlex = L.array(lp.int, 0);
const lFoo = L.struct("foo", 72, [["x", lp.int, 0], ["", lAnon, 32], ["in", lInner, 128], ["arr", lInner2, 256], ["p", lp.vptr, 512], ["flex", lFlex, 576]]);
const lFooT = L.typedef("foo_t", lFoo);

// ---- the kernel's (target) types: another layout ----
// struct inner { long d; int a; unsigned int b:4, c:7; };                             16 bytes
// struct foo { long new_first; int x; struct { long pad; short y; char z[8]; }; struct inner in; struct inner arr[3]; void *p; int flex[]; };  112 bytes
const T = new Builder();
T.int("padding so that target ids differ", 4); // id 1
const tp = prims(T);
tp.vptr = T.ptr(0);
const tChar8 = T.array(tp.char, 8);
const tAnon = T.struct("", 24, [["pad", tp.long, 0], ["y", tp.short, 64], ["z", tChar8, 80]]);
const tInner = T.struct("inner", 16, [["d", tp.long, 0], ["a", tp.int, 64], ["b", tp.uint, 96, 4], ["c", tp.uint, 100, 7]]);
const tInner3 = T.array(tInner, 3);
const tFlex = T.array(tp.int, 0);
const tFoo = T.struct("foo", 112, [["new_first", tp.long, 0], ["x", tp.int, 64], ["", tAnon, 128], ["in", tInner, 320], ["arr", tInner3, 448], ["p", tp.vptr, 832], ["flex", tFlex, 896]]);
const tFooT = T.typedef("foo_t", tFoo);

const vmlinux = (btf: Btf) => [{ name: "vmlinux", btf }];
const run = (kind: CoreReloKindName, typeId: number, access: string, local = L.btf, target = T.btf): CoreRelocationResult =>
  new CoreContext(local, vmlinux(target)).relocate(relo(typeId, access, kind));
/** origVal → newVal, as numbers for readability. */
const values = (r: CoreRelocationResult) => [Number(r.origVal), Number(r.newVal)];

describe("field relocations", () => {
  test.each([
    ["foo.x", "0:0", 0, 8, 4, 4],
    ["foo.y (in an anonymous struct, deeper in the target)", "0:1:0", 4, 24, 2, 2],
    ["foo.z[2] (array element in an anonymous struct)", "0:1:1:2", 8, 28, 1, 1],
    ["foo.in.d", "0:2:3", 24, 40, 8, 8],
    ["foo.arr[1].d", "0:3:1:3", 56, 72, 8, 8],
    ["foo.p", "0:4", 64, 104, 8, 8],
    ["foo.flex[3] (flexible array: any index)", "0:5:3", 84, 124, 4, 4],
    ["foo[1] (the root as an array)", "1", 72, 112, 72, 112],
  ])("FIELD_BYTE_OFFSET %s", (_n, access, orig, next, origSize, newSize) => {
    const r = run("FIELD_BYTE_OFFSET", lFoo, access);
    expect(values(r)).toEqual([orig, next]);
    expect([r.origSize, r.newSize]).toEqual([origSize, newSize]);
    expect(r).toMatchObject({ poison: false, validate: true, reason: undefined, matches: 1 });
    expect(r.target).toMatchObject({ btf: "vmlinux", typeId: tFoo });
  });

  test("specs as libbpf prints them, local and target", () => {
    const r = run("FIELD_BYTE_OFFSET", lFoo, "0:1:1:2");
    expect(r.localSpec).toBe(`<byte_off> [${lFoo}] struct foo.z[2] (0:1:1:2 @ offset 8)`);
    expect(r.target!.spec).toBe(`<byte_off> [${tFoo}] struct foo.z[2] (0:2:2:2 @ offset 28)`);
    expect(run("FIELD_BYTE_OFFSET", lFoo, "1").localSpec).toBe(`<byte_off> [${lFoo}] struct foo[1] (1 @ offset 72)`);
    expect(run("FIELD_LSHIFT_U64", lInner, "0:2").localSpec).toBe(`<lshift_u64> [${lInner}] struct inner.c (0:2 @ offset 4.3)`);
    expect(run("TYPE_SIZE", lFooT, "0").localSpec).toBe(`<type_size> [${lFooT}] typedef foo_t`);
  });

  test("the target field's type id goes with its size (for load/store size adjustment)", () => {
    const r = run("FIELD_BYTE_OFFSET", lFoo, "0:2:3");
    expect([r.origTypeId, r.newTypeId]).toEqual([lp.long, tp.long]);
    expect(r.failMemszAdjust).toBe(false);
  });

  test.each([
    ["FIELD_BYTE_SIZE", "0:1:1", 4, 8], // char[4] -> char[8]
    ["FIELD_BYTE_SIZE", "0:1:1:2", 1, 1], // an array element
    ["FIELD_BYTE_SIZE", "0:2", 16, 16],
    ["FIELD_EXISTS", "0:2:3", 1, 1],
    ["FIELD_SIGNED", "0:0", 1, 1],
    ["FIELD_SIGNED", "0:4", 0, 0],
    ["FIELD_LSHIFT_U64", "0:0", 32, 32], // not a bitfield: 64 - 32
    ["FIELD_RSHIFT_U64", "0:0", 32, 32],
  ])("%s %s", (kind, access, orig, next) => {
    const r = run(kind as CoreReloKindName, lFoo, access);
    expect(values(r)).toEqual([orig, next]);
    expect(r.validate).toBe(true);
  });

  test("FIELD_SIGNED follows the target's integer and enum signedness", () => {
    const l = new Builder();
    const li = l.int("int", 4, true);
    const le = l.enum("e", 4, [["A", 1]], false);
    const ls = l.struct("s", 8, [["i", li, 0], ["e", le, 32]]);
    const t = new Builder();
    const tu = t.int("unsigned int", 4);
    const te = t.enum("e", 4, [["A", -1]], true);
    t.struct("s", 8, [["i", tu, 0], ["e", te, 32]]);
    expect(values(run("FIELD_SIGNED", ls, "0:0", l.btf, t.btf))).toEqual([1, 0]);
    expect(values(run("FIELD_SIGNED", ls, "0:1", l.btf, t.btf))).toEqual([0, 1]);
  });
});

describe("bitfields", () => {
  // local inner.b: bits 32..34 of inner; target inner.b: bits 96..99. inner.c: 35..39 vs 100..106.
  test.each([
    ["b", "FIELD_BYTE_OFFSET", 4, 12],
    ["b", "FIELD_BYTE_SIZE", 4, 4],
    ["b", "FIELD_LSHIFT_U64", 61, 60], // 64 - (bit offset + bits - byte offset * 8)
    ["b", "FIELD_RSHIFT_U64", 61, 60], // 64 - bits
    ["b", "FIELD_SIGNED", 0, 0],
    ["b", "FIELD_EXISTS", 1, 1],
    ["c", "FIELD_BYTE_OFFSET", 4, 12],
    ["c", "FIELD_LSHIFT_U64", 56, 53],
    ["c", "FIELD_RSHIFT_U64", 59, 57],
  ])("inner.%s %s", (field, kind, orig, next) => {
    const r = run(kind as CoreReloKindName, lInner, `0:${field === "b" ? 1 : 2}`);
    expect(values(r)).toEqual([orig, next]);
    // offsets, sizes and left shifts of bitfields are not validated (the compiler may load otherwise)
    expect(r.validate).toBe(kind === "FIELD_SIGNED" || kind === "FIELD_RSHIFT_U64" || kind === "FIELD_EXISTS");
    expect([r.origSize, r.newSize, r.failMemszAdjust]).toEqual([0, 0, false]);
  });

  test("big-endian left shifts", () => {
    const ctx = new CoreContext(L.btf, vmlinux(T.btf), { littleEndian: false });
    const r = ctx.relocate(relo(lInner, "0:2", "FIELD_LSHIFT_U64"));
    // (8 - load size) * 8 + (bit offset - byte offset * 8): (8-4)*8 + 3 and (8-4)*8 + 4
    expect(values(r)).toEqual([35, 36]);
  });

  test("a bitfield that crosses its type's boundary is read with a wider load, up to 8 bytes", () => {
    const l = new Builder();
    const lu = l.int("unsigned int", 4);
    const ls = l.struct("bf", 8, [["v", lu, 0, 4]]);
    const t = new Builder();
    const tu = t.int("unsigned int", 4);
    t.struct("bf", 8, [["v", tu, 30, 4]]); // bits 30..33: not in one u32
    expect(values(run("FIELD_BYTE_OFFSET", ls, "0:0", l.btf, t.btf))).toEqual([0, 0]);
    expect(values(run("FIELD_BYTE_SIZE", ls, "0:0", l.btf, t.btf))).toEqual([4, 8]);
    expect(values(run("FIELD_LSHIFT_U64", ls, "0:0", l.btf, t.btf))).toEqual([60, 30]);
    expect(values(run("FIELD_RSHIFT_U64", ls, "0:0", l.btf, t.btf))).toEqual([60, 60]);
  });

  test("a bitfield no 8-byte load can hold fails the relocation", () => {
    const l = new Builder();
    const lu = l.int("unsigned int", 4);
    const ls = l.struct("bf", 16, [["v", lu, 0, 10]]);
    const t = new Builder();
    const tu = t.int("unsigned int", 4);
    t.struct("bf", 16, [["v", tu, 60, 10]]); // bits 60..69
    const ctx = new CoreContext(l.btf, vmlinux(t.btf));
    expect(() => ctx.relocate(relo(ls, "0:0", "FIELD_BYTE_OFFSET", 40), { program: "p", reloIndex: 2 })).toThrow(
      expect.objectContaining({ code: "CORE_UNSATISFIABLE", message: expect.stringMatching(/^prog 'p': relo #2: byte_off at insn #5 can't be satisfied for bitfield 'v'/) }),
    );
  });

  test("a bitfield that became a plain integer: the load size cannot be adjusted", () => {
    const l = new Builder();
    const lu = l.int("unsigned int", 4);
    const ls = l.struct("bf", 4, [["v", lu, 0, 8]]);
    const t = new Builder();
    const tu = t.int("unsigned int", 4);
    t.struct("bf", 4, [["v", tu, 0]]);
    const r = run("FIELD_BYTE_OFFSET", ls, "0:0", l.btf, t.btf);
    expect([r.origSize, r.newSize, r.failMemszAdjust, r.validate]).toEqual([0, 4, true, false]);
    // and the other way round
    const r2 = run("FIELD_BYTE_OFFSET", lFoo, "0:0", L.btf, new Btf([...T.btf.types.slice(1, tFoo), { ...T.btf.type(tFoo, "STRUCT"), kindFlag: true, members: T.btf.type(tFoo, "STRUCT").members.map((m) => (m.name === "x" ? { ...m, bitSize: 32 } : m)) }]));
    expect([r2.origSize, r2.newSize, r2.failMemszAdjust]).toEqual([4, 0, true]);
  });
});

describe("load/store size adjustment", () => {
  const l = new Builder();
  const lpr = prims(l);
  const lcp = l.ptr(lpr.char);
  const ls = l.struct("sz", 24, [["u", lpr.uint, 0], ["s", lpr.int, 32], ["p", lcp, 64], ["uc", lpr.uchar, 128], ["b", l.bool(), 136]]);
  const t = new Builder();
  const tpr = prims(t);
  const tcp = t.ptr(tpr.char);
  t.struct("sz", 32, [["u", tpr.ulong, 0], ["s", tpr.long, 64], ["p", tcp, 128], ["uc", tpr.ushort, 192], ["b", tpr.uint, 224]]);
  test.each([
    ["unsigned int -> unsigned long: allowed", 0, 4, 8, false],
    ["int -> long: refused (sign)", 1, 4, 8, true],
    ["pointer -> pointer", 2, 8, 8, false],
    ["unsigned char -> unsigned short: allowed", 3, 1, 2, false],
    ["_Bool -> unsigned int: allowed (not SIGNED)", 4, 1, 4, false],
  ])("%s", (_n, member, origSize, newSize, fail) => {
    const r = run("FIELD_BYTE_OFFSET", ls, `0:${member}`, l.btf, t.btf);
    expect([r.origSize, r.newSize, r.failMemszAdjust]).toEqual([origSize, newSize, fail]);
  });
});

describe("arrays", () => {
  test("an index past the local array's end is a malformed record", () => {
    expect(() => run("FIELD_BYTE_OFFSET", lFoo, "0:3:2")).toThrow(expect.objectContaining({ code: "CORE_BAD_SPEC", message: expect.stringContaining("array index 2 is out of range: the array has 2 elements") }));
  });

  test("an index past the target array's end does not match (poison)", () => {
    const t = new Builder();
    const tpr = prims(t);
    const one = t.array(tpr.char, 2);
    t.struct("foo", 8, [["x", tpr.int, 0], ["", t.struct("", 2, [["y", tpr.short, 0], ["z", one, 16]]), 32]]);
    const r = run("FIELD_BYTE_OFFSET", lFoo, "0:1:1:3", L.btf, t.btf);
    expect(r.poison).toBe(true);
    expect(r.reason).toBe("index 3 is out of bounds of char[2] of vmlinux");
  });

  test("a zero-size array that is not the last member is not flexible", () => {
    const l = new Builder();
    const li = l.int("int", 4, true);
    const ls = l.struct("z", 4, [["a", l.array(li, 0), 0], ["b", li, 0]]);
    expect(() => run("FIELD_BYTE_OFFSET", ls, "0:0:1", l.btf, l.btf)).toThrow(expect.objectContaining({ code: "CORE_BAD_SPEC" }));
    const lf = l.struct("f", 4, [["b", li, 0], ["a", l.array(li, 0), 32]]);
    expect(values(run("FIELD_BYTE_OFFSET", lf, "0:1:7", l.btf, l.btf))).toEqual([32, 32]);
  });

  test("a local flexible array matches a target fixed-size one within bounds, and a target flexible one at any index", () => {
    const t = new Builder();
    const tpr = prims(t);
    t.struct("foo", 100, [["x", tpr.int, 0], ["flex", t.array(tpr.int, 4), 32]]);
    expect(values(run("FIELD_BYTE_OFFSET", lFoo, "0:5:3", L.btf, t.btf))).toEqual([84, 16]);
    expect(run("FIELD_BYTE_OFFSET", lFoo, "0:5:4", L.btf, t.btf).reason).toBe("index 4 is out of bounds of int[4] of vmlinux");
  });

  test("a field that is not an array in the target does not match", () => {
    const t = new Builder();
    const tpr = prims(t);
    t.struct("foo", 16, [["arr", tpr.long, 0]]);
    const r = run("FIELD_BYTE_OFFSET", lFoo, "0:3:1", L.btf, t.btf);
    // the field's types are compared first: an array of structs vs long
    expect(r.reason).toMatch(/^field 'arr' of struct foo has an incompatible type: struct inner\[2\] vs long: ARRAY vs INT \(in vmlinux\)$/);
    expect(r.poison).toBe(true);
  });

  test("FIELD_SIGNED of an array element is refused, as libbpf does", () => {
    expect(() => run("FIELD_SIGNED", lFoo, "0:3:1")).toThrow(expect.objectContaining({ code: "CORE_UNSUPPORTED", message: expect.stringContaining("can't be applied to array access") }));
  });
});

describe("missing fields and types", () => {
  const l = new Builder();
  const li = l.int("int", 4, true);
  const lopt = l.struct("opt", 8, [["a", li, 0], ["b", li, 32]]);
  const lgone = l.struct("gone", 4, [["a", li, 0]]);
  const le = l.enum("ev", 4, [["A", 1], ["B", 2]]);
  const t = new Builder();
  const ti = t.int("int", 4, true);
  t.struct("opt", 4, [["a", ti, 0]]);
  t.enum("ev", 4, [["A", 7]]);
  const go = (kind: CoreReloKindName, id: number, access: string) => run(kind, id, access, l.btf, t.btf);

  test.each([
    ["FIELD_BYTE_OFFSET", true, 4n],
    ["FIELD_BYTE_SIZE", true, 4n],
    ["FIELD_SIGNED", true, 1n],
    ["FIELD_LSHIFT_U64", true, 32n],
    ["FIELD_RSHIFT_U64", true, 32n],
    ["FIELD_EXISTS", false, 1n],
  ])("a missing field: %s poisons: %s", (kind, poison, orig) => {
    const r = go(kind as CoreReloKindName, lopt, "0:1");
    expect(r).toMatchObject({ poison, origVal: orig, newVal: 0n, target: undefined, matches: 0, reason: "field 'b' not found in struct opt of vmlinux" });
  });

  test.each([
    ["FIELD_BYTE_OFFSET", "0:0", true, "no struct 'gone' in vmlinux"],
    ["FIELD_EXISTS", "0:0", false, "no struct 'gone' in vmlinux"],
    ["TYPE_EXISTS", "0", false, "no struct 'gone' in vmlinux"],
    ["TYPE_MATCHES", "0", false, "no struct 'gone' in vmlinux"],
    ["TYPE_SIZE", "0", false, "no struct 'gone' in vmlinux"], // libbpf: 0, not poison
    ["TYPE_ID_TARGET", "0", false, "no struct 'gone' in vmlinux"],
  ])("a missing type: %s poisons: %s", (kind, access, poison, reason) => {
    const r = go(kind as CoreReloKindName, lgone, access);
    expect(r).toMatchObject({ poison, newVal: 0n, reason });
  });

  test("a missing enumerator: ENUMVAL_EXISTS is 0, ENUMVAL_VALUE poisons", () => {
    expect(go("ENUMVAL_EXISTS", le, "1")).toMatchObject({ poison: false, origVal: 1n, newVal: 0n, reason: "enumerator 'B' not found in enum ev of vmlinux" });
    expect(go("ENUMVAL_VALUE", le, "1")).toMatchObject({ poison: true, origVal: 2n, reason: "enumerator 'B' not found in enum ev of vmlinux" });
    expect(go("ENUMVAL_VALUE", le, "0")).toMatchObject({ poison: false, origVal: 1n, newVal: 7n });
  });

  test("a field whose type is incompatible does not match", () => {
    const t2 = new Builder();
    const ti2 = t2.int("int", 4, true);
    t2.struct("opt", 16, [["a", ti2, 0], ["b", t2.struct("x", 8, []), 64]]);
    const r = run("FIELD_BYTE_OFFSET", lopt, "0:1", l.btf, t2.btf);
    expect(r.reason).toBe("field 'b' of struct opt has an incompatible type: int vs struct x: INT vs STRUCT (in vmlinux)");
    expect(r.poison).toBe(true);
  });

  test("no target BTF at all", () => {
    const r = new CoreContext(l.btf, []).relocate(relo(lopt, "0:1", "FIELD_BYTE_OFFSET"));
    expect(r).toMatchObject({ poison: true, reason: "no target BTF to look for struct 'opt' in" });
  });
});

describe("type relocations", () => {
  test.each([
    ["TYPE_EXISTS", lFoo, 1, 1, true],
    ["TYPE_SIZE", lFoo, 72, 112, true],
    ["TYPE_SIZE", lFooT, 72, 112, true],
    ["TYPE_ID_TARGET", lFoo, lFoo, tFoo, false],
    ["TYPE_ID_TARGET", lFooT, lFooT, tFooT, false],
    ["TYPE_ID_LOCAL", lFoo, lFoo, lFoo, false],
  ])("%s [%i]", (kind, id, orig, next, validate) => {
    const r = run(kind as CoreReloKindName, id, "0");
    expect(values(r)).toEqual([orig, next]);
    expect(r.validate).toBe(validate);
    expect(r.poison).toBe(false);
  });

  test("TYPE_ID_LOCAL needs no target, and works on anonymous types", () => {
    const r = new CoreContext(L.btf, []).relocate(relo(lAnon, "0", "TYPE_ID_LOCAL"));
    expect(r).toMatchObject({ origVal: BigInt(lAnon), newVal: BigInt(lAnon), validate: false, target: undefined, reason: undefined });
  });

  test("TYPE_MATCHES: struct foo differs in an anonymous member's array size", () => {
    const r = run("TYPE_MATCHES", lFoo, "0");
    expect(values(r)).toEqual([1, 0]);
    expect(r.reason).toMatch(/^struct foo of vmlinux does not match: \[\d+\] struct foo vs \[\d+\] struct foo: member '<anon>' does not match: .*4 vs 8 elements$/);
    expect(values(run("TYPE_MATCHES", lInner, "0"))).toEqual([1, 1]);
  });

  test("a typedef's candidates are typedefs of that name", () => {
    const t = new Builder();
    const tpr = prims(t);
    t.struct("foo_t", 4, [["x", tpr.int, 0]]); // a struct named like the typedef: not a candidate
    expect(run("TYPE_EXISTS", lFooT, "0", L.btf, t.btf)).toMatchObject({ newVal: 0n, reason: "no typedef 'foo_t' in vmlinux" });
  });

  test("type compatibility is libbpf's: a typedef to another kind does not match", () => {
    const t = new Builder();
    const tpr = prims(t);
    t.typedef("foo_t", tpr.int);
    const r = run("TYPE_SIZE", lFooT, "0", L.btf, t.btf);
    expect(r.newVal).toBe(0n);
    expect(r.reason).toMatch(/^foo_t of vmlinux is not compatible: .*STRUCT vs INT$/);
  });
});

describe("enumerators", () => {
  const l = new Builder();
  const e32 = l.enum("e32", 4, [["A", 1], ["B", 0x80000000], ["C", 3]]);
  const e64 = l.enum64("e64", 8, [["X", 1n], ["Y", 0xffffffff00000000n]]);
  const es = l.enum("es", 4, [["S1", -5], ["S2", 7]], true);
  const ev = l.enum("ev___v2", 4, [["V___new", 9]]);
  const t = new Builder();
  t.enum("e32", 4, [["C", 30], ["A", 10], ["B", 0x90000000]]);
  t.enum64("e64", 8, [["Y", -1n]], true);
  t.enum("es", 4, [["S1", -100]], true);
  t.enum64("ev", 8, [["V", 0x100000000n]]);
  const go = (id: number, access: string) => run("ENUMVAL_VALUE", id, access, l.btf, t.btf);

  test("ENUM values, reordered in the target", () => {
    expect(go(e32, "0")).toMatchObject({ origVal: 1n, newVal: 10n, validate: true });
    expect(go(e32, "2")).toMatchObject({ origVal: 3n, newVal: 30n });
  });

  test("a 32-bit enumerator is sign-extended whatever the enum's signedness, as libbpf reads its __s32", () => {
    expect(go(e32, "1")).toMatchObject({ origVal: 0xffffffff80000000n, newVal: 0xffffffff90000000n });
    expect(go(es, "0")).toMatchObject({ origVal: BigInt.asUintN(64, -5n), newVal: BigInt.asUintN(64, -100n) });
  });

  test("ENUM64 values, unsigned and signed", () => {
    expect(go(e64, "1")).toMatchObject({ origVal: 0xffffffff00000000n, newVal: 0xffffffffffffffffn });
    expect(run("ENUMVAL_EXISTS", e64, "0", l.btf, t.btf)).toMatchObject({ origVal: 1n, newVal: 0n, reason: "enumerator 'X' not found in enum e64 of vmlinux" });
  });

  test("flavoured enum and enumerator names, ENUM against ENUM64", () => {
    const r = go(ev, "0");
    expect(r).toMatchObject({ origVal: 9n, newVal: 0x100000000n });
    expect(r.localSpec).toBe(`<enumval_value> [${ev}] enum ev___v2::V___new = 9`);
    expect(r.target!.spec).toMatch(/^<enumval_value> \[\d+\] enum64 ev::V = 4294967296$/);
  });

  test("specs print values with the enum's signedness", () => {
    expect(go(e32, "1").localSpec).toBe(`<enumval_value> [${e32}] enum e32::B = 2147483648`);
    expect(go(es, "0").localSpec).toBe(`<enumval_value> [${es}] enum es::S1 = -5`);
    expect(go(e64, "1").localSpec).toBe(`<enumval_value> [${e64}] enum64 e64::Y = 18446744069414584320`);
    expect(go(es, "0").target!.spec).toMatch(/::S1 = -100$/);
  });
});

describe("flavours, duplicates and ambiguity", () => {
  test("a flavoured local type matches the kernel's plain one", () => {
    const l = new Builder();
    const li = l.int("int", 4, true);
    const lv2 = l.struct("foo___v2", 8, [["x", li, 0], ["newfield", l.int("long", 8, true), 32]]);
    const r = run("FIELD_EXISTS", lv2, "0:1", l.btf, T.btf);
    expect(r).toMatchObject({ newVal: 0n, reason: "field 'newfield' not found in struct foo of vmlinux" });
    expect(values(run("FIELD_BYTE_OFFSET", lv2, "0:0", l.btf, T.btf))).toEqual([0, 8]);
    expect(run("TYPE_EXISTS", lv2, "0", l.btf, new Btf()).reason).toBe("no struct 'foo' (for 'foo___v2') in vmlinux");
  });

  test("flavoured kernel types are candidates too (vmlinux's nf_conn___init), in id order", () => {
    const l = new Builder();
    const li = l.int("int", 4, true);
    const ln = l.struct("nf_conn", 8, [["mark", li, 32]]);
    const t = new Builder();
    const ti = t.int("int", 4, true);
    const tn = t.struct("nf_conn", 16, [["status", ti, 0], ["mark", ti, 64]]);
    const tinit = t.struct("nf_conn___init", 16, [["ct", tn, 0]]);
    t.struct("nf_conn___init___x", 16, [["ct", tn, 0]]); // essential name nf_conn___init: not a candidate
    const ctx = new CoreContext(l.btf, vmlinux(t.btf));
    expect(ctx.candidates(ln).map((c) => c.id)).toEqual([tn, tinit]);
    // a field only the plain one has: one match; the type's size: both agree
    expect(ctx.relocate(relo(ln, "0:0", "FIELD_BYTE_OFFSET"))).toMatchObject({ newVal: 8n, matches: 1 });
    const ctx2 = new CoreContext(l.btf, vmlinux(t.btf));
    expect(ctx2.relocate(relo(ln, "0", "TYPE_SIZE"))).toMatchObject({ newVal: 16n, matches: 2 });
    // the type id: they disagree
    expect(() => ctx2.relocate(relo(ln, "0", "TYPE_ID_TARGET"), { program: "prog", reloIndex: 4 })).toThrow(
      `prog 'prog': relo #4: relocation decision ambiguity: success ${tinit} != success ${tn}: <target_type_id> [${tinit}] struct nf_conn___init in vmlinux vs <target_type_id> [${tn}] struct nf_conn in vmlinux`,
    );
  });

  test("structurally equal duplicates (foo, foo___2) agree", () => {
    const t = new Builder();
    const tpr = prims(t);
    const a = t.struct("dup", 8, [["a", tpr.int, 32]]);
    const b = t.struct("dup___2", 8, [["a", tpr.int, 32]]);
    const l = new Builder();
    const ld = l.struct("dup", 8, [["a", l.int("int", 4, true), 0]]);
    const r = run("FIELD_BYTE_OFFSET", ld, "0:0", l.btf, t.btf);
    expect(r).toMatchObject({ newVal: 4n, matches: 2, target: { typeId: a } });
    expect(b).toBeGreaterThan(a);
  });

  test("duplicates at different offsets: field offset ambiguity", () => {
    const t = new Builder();
    const tpr = prims(t);
    const a = t.struct("dup", 8, [["a", tpr.int, 32]]);
    const b = t.struct("dup___2", 8, [["a", tpr.int, 0]]);
    const l = new Builder();
    const ld = l.struct("dup", 8, [["a", l.int("int", 4, true), 0]]);
    let err: unknown;
    try { run("FIELD_BYTE_OFFSET", ld, "0:0", l.btf, t.btf); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CoreRelocationError);
    expect(err).toMatchObject({
      code: "CORE_AMBIGUOUS",
      message: `relo #?: field offset ambiguity: 0 != 32: <byte_off> [${b}] struct dup___2.a (0:0 @ offset 0) in vmlinux vs <byte_off> [${a}] struct dup.a (0:0 @ offset 4) in vmlinux`,
      location: { btfTypeId: ld, btfKind: "STRUCT", insnIndex: 0 },
    });
  });

  test("duplicates with the same offset but another size: decision ambiguity", () => {
    const t = new Builder();
    const tpr = prims(t);
    t.struct("dup", 8, [["a", tpr.int, 0]]);
    t.struct("dup___2", 8, [["a", tpr.long, 0]]);
    const l = new Builder();
    const ld = l.struct("dup", 8, [["a", l.int("int", 4, true), 0]]);
    expect(() => run("FIELD_BYTE_SIZE", ld, "0:0", l.btf, t.btf)).toThrow(/relocation decision ambiguity: success 8 != success 4/);
    // the offset alone is not ambiguous
    expect(run("FIELD_BYTE_OFFSET", ld, "0:0", l.btf, t.btf)).toMatchObject({ newVal: 0n, matches: 2 });
  });
});

describe("candidates: vmlinux, modules and the cache", () => {
  const base = new Builder();
  const bi = base.int("int", 4, true);
  base.struct("both", 8, [["a", bi, 32]]);
  const mod = new Builder(base.btf);
  const mt = mod.struct("mod_t", 16, [["a", bi, 0], ["b", mod.int("long", 8, true), 64]]);
  mod.struct("both", 8, [["a", bi, 0]]);
  const mod2 = new Builder(base.btf);
  const mt2 = mod2.struct("mod_t", 16, [["a", bi, 0], ["b", mod2.int("long", 8, true), 64]]);
  const targets = [{ name: "vmlinux", btf: base.btf }, { name: "nf_x", btf: mod.btf }, { name: "nf_y", btf: mod2.btf }];

  const l = new Builder();
  const li = l.int("int", 4, true);
  const lmod = l.struct("mod_t", 16, [["a", li, 0], ["b", l.int("long", 8, true), 32]]);
  const lboth = l.struct("both", 8, [["a", li, 0]]);
  const lnone = l.struct("nothing", 8, [["a", li, 0]]);

  test("a type only modules have: every module's candidates, in order", () => {
    const ctx = new CoreContext(l.btf, targets);
    expect(ctx.candidates(lmod).map((c) => [c.target.name, c.id])).toEqual([["nf_x", mt], ["nf_y", mt2]]);
    expect(mt).toBeGreaterThanOrEqual(base.btf.count);
    expect(ctx.relocate(relo(lmod, "0:1", "FIELD_BYTE_OFFSET"))).toMatchObject({ origVal: 4n, newVal: 8n, matches: 2, target: { btf: "nf_x", typeId: mt } });
  });

  test("a type vmlinux has: modules are not searched", () => {
    const ctx = new CoreContext(l.btf, targets);
    expect(ctx.candidates(lboth).map((c) => c.target.name)).toEqual(["vmlinux"]);
    expect(ctx.relocate(relo(lboth, "0:0", "FIELD_BYTE_OFFSET")).newVal).toBe(4n);
  });

  test("a type nobody has", () => {
    const ctx = new CoreContext(l.btf, targets);
    expect(ctx.relocate(relo(lnone, "0:0", "FIELD_BYTE_OFFSET")).reason).toBe("no struct 'nothing' in vmlinux nor in nf_x, nf_y");
  });

  test("matching candidates narrow the cached list for later relocations of the same type, as libbpf's cand_cache", () => {
    const t = new Builder();
    const tpr = prims(t);
    const plain = t.struct("narrow", 16, [["a", tpr.int, 0], ["c", tpr.int, 64]]);
    const flav = t.struct("narrow___x", 16, [["a", tpr.int, 0], ["b", tpr.int, 32]]);
    const l2 = new Builder();
    const i2 = l2.int("int", 4, true);
    const ln = l2.struct("narrow", 12, [["a", i2, 0], ["b", i2, 32], ["c", i2, 64]]);
    const ctx = new CoreContext(l2.btf, vmlinux(t.btf));
    expect(ctx.candidates(ln).map((c) => c.id)).toEqual([plain, flav]);
    expect(ctx.relocate(relo(ln, "0:0", "FIELD_BYTE_OFFSET")).matches).toBe(2); // both: kept
    expect(ctx.candidates(ln).map((c) => c.id)).toEqual([plain, flav]);
    expect(ctx.relocate(relo(ln, "0:1", "FIELD_BYTE_OFFSET")).matches).toBe(1); // only narrow___x
    expect(ctx.candidates(ln).map((c) => c.id)).toEqual([flav]);
    // narrow.c exists in `narrow`, but that candidate is gone: poisoned, as libbpf does
    expect(ctx.relocate(relo(ln, "0:2", "FIELD_BYTE_OFFSET"))).toMatchObject({ poison: true, reason: "field 'c' not found in struct narrow___x of vmlinux" });
    // a fresh context (another load) finds it
    expect(new CoreContext(l2.btf, vmlinux(t.btf)).relocate(relo(ln, "0:2", "FIELD_BYTE_OFFSET")).newVal).toBe(8n);
    // a relocation with no match leaves the list alone
    const ctx2 = new CoreContext(l2.btf, vmlinux(t.btf));
    const lmissing = l2.struct("narrow___y", 16, [["zz", i2, 0]]);
    expect(ctx2.relocate(relo(lmissing, "0:0", "FIELD_EXISTS")).newVal).toBe(0n);
    expect(ctx2.candidates(lmissing)).toHaveLength(2);
  });

  test("an anonymous local type has no candidates: libbpf refuses", () => {
    const ctx = new CoreContext(L.btf, vmlinux(T.btf));
    expect(() => ctx.relocate(relo(lAnon, "0:0", "FIELD_BYTE_OFFSET"), { program: "p", reloIndex: 0, section: "tc" })).toThrow(
      expect.objectContaining({ code: "CORE_UNSUPPORTED", location: expect.objectContaining({ program: "p", section: "tc", btfTypeId: lAnon }) }),
    );
  });
});

describe("malformed relocation records", () => {
  test.each([
    ["", "FIELD_BYTE_OFFSET", "empty access string"],
    [":0", "FIELD_BYTE_OFFSET", "empty access string"],
    ["0:", "FIELD_BYTE_OFFSET", "'' is not an index"],
    ["0:x", "FIELD_BYTE_OFFSET", "'x' is not an index"],
    ["0:-1", "FIELD_BYTE_OFFSET", "'-1' is not an index"],
    ["0:9", "FIELD_BYTE_OFFSET", "member index 9 is out of range: struct foo has 6 members"],
    ["0:0:1", "FIELD_BYTE_OFFSET", `index 2 steps into [${lp.int}] int, which has neither members nor elements`],
    ["1", "TYPE_SIZE", 'a type-based relocation (type_size) takes the access string "0"'],
    ["0", "ENUMVAL_VALUE", "an enumerator relocation on struct, not an enum"],
    [Array(65).fill("0").join(":"), "FIELD_BYTE_OFFSET", "more than 64 indexes"],
  ])("%j %s", (access, kind, why) => {
    expect(() => run(kind as CoreReloKindName, lFoo, access)).toThrow(
      expect.objectContaining({ code: "CORE_BAD_SPEC", message: `relo #?: parsing [${lFoo}] struct foo + ${access || "<?>"} failed: ${why}` }),
    );
  });

  test("an unknown kind, a type id out of range", () => {
    const ctx = new CoreContext(L.btf, vmlinux(T.btf));
    expect(() => ctx.relocate({ insnOff: 0, typeId: lFoo, accessStr: "0", kind: 13 })).toThrow(expect.objectContaining({ code: "CORE_BAD_SPEC", message: expect.stringContaining("unknown relocation kind 13") }));
    expect(() => ctx.relocate({ insnOff: 0, typeId: 9999, accessStr: "0", kind: 0 })).toThrow(expect.objectContaining({ code: "CORE_BAD_SPEC", message: "relo #?: relocation type id 9999 is out of range" }));
  });

  test("enumerator index out of range", () => {
    const l = new Builder();
    const e = l.enum("e", 4, [["A", 1]]);
    expect(() => run("ENUMVAL_EXISTS", e, "1", l.btf, l.btf)).toThrow(/enumerator index 1 is out of range: the enum has 1/);
    expect(() => run("ENUMVAL_EXISTS", e, "0:0", l.btf, l.btf)).toThrow(/takes one index/);
  });
});

describe("parseCoreSpec and formatCoreSpec", () => {
  test("high-level and raw accessors, through an anonymous member", () => {
    const s = parseCoreSpec(L.btf, relo(lFoo, "0:1:1:2", "FIELD_BYTE_OFFSET"));
    expect(s.raw).toEqual([0, 1, 1, 2]);
    expect(s.accessors).toEqual([
      { typeId: lFoo, idx: 0, name: undefined },
      { typeId: lAnon, idx: 1, name: "z" },
      { typeId: lp.char, idx: 2, name: undefined },
    ]);
    expect(s.bitOffset).toBe(64);
    expect(formatCoreSpec(s)).toBe(`<byte_off> [${lFoo}] struct foo.z[2] (0:1:1:2 @ offset 8)`);
  });

  test("modifiers on the way are skipped", () => {
    const l = new Builder();
    const li = l.int("int", 4, true);
    const inner = l.struct("in", 8, [["v", l.volatile(li), 32]]);
    const s = l.struct("outer", 16, [["i", l.const(l.typedef("in_t", inner)), 64]]);
    const root = l.const(s);
    const spec = parseCoreSpec(l.btf, relo(root, "0:0:0", "FIELD_BYTE_OFFSET"));
    expect(spec.bitOffset).toBe(96);
    expect(formatCoreSpec(spec)).toBe(`<byte_off> [${root}] const <anon>.i.v (0:0:0 @ offset 12)`);
  });
});

describe("coreTypesMatch (libbpf's bpf_core_types_match)", () => {
  const l = new Builder();
  const t = new Builder();
  const both = (f: (b: Builder) => number): [number, number] => [f(l), f(t)];
  const [li, ti] = both((b) => b.int("int", 4, true));
  const [lu] = both((b) => b.int("unsigned int", 4));
  const [ll, tl] = both((b) => b.int("long", 8, true));
  const m = (a: number, b: number) => coreTypesMatch(l.btf, a, t.btf, b);

  test("integers: size and signedness", () => {
    expect(m(li, ti)).toBe(true);
    expect(m(lu, t.int("unsigned int", 4, true))).toMatch(/unsigned vs signed$/);
    expect(m(ll, t.int("long", 4, true))).toMatch(/sizes 8 vs 4$/);
    expect(m(li, tl)).toMatch(/names differ$/);
  });

  test("structs: every local member, by name, with a matching type; the target may have more", () => {
    const ls = l.struct("s", 8, [["a", li, 0], ["b", ll, 64]]);
    expect(m(ls, t.struct("s", 24, [["z", tl, 0], ["b", tl, 64], ["a", ti, 128]]))).toBe(true);
    expect(m(ls, t.struct("s", 8, [["a", ti, 0]]))).toMatch(/2 vs 1 members$/);
    expect(m(ls, t.struct("s", 8, [["a", ti, 0], ["c", tl, 64]]))).toMatch(/member 'b' not found$/);
    expect(m(ls, t.struct("s", 8, [["a", tl, 0], ["b", tl, 64]]))).toMatch(/member 'a' does not match: .*names differ$/);
    expect(m(ls, t.union("s", 8, [["a", ti, 0], ["b", tl, 64]]))).toMatch(/STRUCT vs UNION$/);
    expect(m(ls, t.struct("s___v2", 8, [["a", ti, 0], ["b", tl, 64]]))).toBe(true);
  });

  test("behind a pointer, only names and kinds; a struct matches a forward declaration both ways", () => {
    const lx = l.struct("x", 4, [["a", li, 0]]);
    const tx = t.struct("x", 4, [["zz", tl, 0]]);
    expect(m(lx, tx)).toMatch(/member 'a' not found$/);
    expect(m(l.ptr(lx), t.ptr(tx))).toBe(true);
    expect(m(l.ptr(lx), t.ptr(t.fwd("x")))).toBe(true);
    expect(m(l.ptr(l.fwd("x")), t.ptr(tx))).toBe(true);
    expect(m(l.ptr(lx), t.ptr(t.fwd("x", true)))).toMatch(/STRUCT vs FWD$/);
    expect(m(l.ptr(l.fwd("x", true)), t.ptr(tx))).toMatch(/FWD vs STRUCT$/);
    expect(m(lx, t.fwd("x"))).toMatch(/STRUCT vs FWD$/);
    expect(m(l.fwd("x"), t.fwd("x"))).toBe(true);
    expect(m(l.fwd("x"), t.fwd("x", true))).toMatch(/forward declarations of a struct vs a union$/);
  });

  test("enums: size, and every local enumerator's name (not value); ENUM and ENUM64 mix", () => {
    const le = l.enum("e", 4, [["A", 1], ["B", 2]]);
    expect(m(le, t.enum("e", 4, [["B", 20], ["A", 10], ["C", 3]]))).toBe(true);
    expect(m(le, t.enum64("e", 4, [["A", 1n], ["B", 2n]]))).toBe(true);
    expect(m(le, t.enum("e", 8, [["A", 1], ["B", 2]]))).toMatch(/sizes 4 vs 8$/);
    expect(m(le, t.enum("e", 4, [["A", 1]]))).toMatch(/2 vs 1 enumerators$/);
    expect(m(le, t.enum("e", 4, [["A", 1], ["C", 2]]))).toMatch(/enumerator 'B' not found$/);
    expect(m(l.enum("f", 4, [["A___x", 1]]), t.enum("f", 4, [["A", 1]]))).toBe(true);
  });

  test("arrays, prototypes, typedefs, void, floats", () => {
    expect(m(l.array(li, 4), t.array(ti, 4))).toBe(true);
    expect(m(l.array(li, 4), t.array(ti, 5))).toMatch(/4 vs 5 elements$/);
    expect(m(l.proto(li, ll), t.proto(ti, tl))).toBe(true);
    expect(m(l.proto(li, ll), t.proto(ti, tl, ti))).toMatch(/1 vs 2 parameters$/);
    expect(m(l.proto(li, ll), t.proto(ti, ti))).toMatch(/parameter 1: .*names differ$/);
    expect(m(l.proto(ll, li), t.proto(ti, ti))).toMatch(/names differ$/);
    expect(m(l.typedef("t", li), t.typedef("t", ti))).toBe(true);
    expect(m(l.ptr(0), t.ptr(0))).toBe(true);
    expect(m(l.ptr(0), t.ptr(ti))).toMatch(/names differ$/);
    expect(m(l.float("float", 4), t.float("float", 4))).toMatch(/libbpf does not match FLOAT types$/);
    // an anonymous target type only matches an anonymous local one
    expect(m(l.struct("named", 0, []), t.struct("", 0, []))).toMatch(/names differ$/);
  });

  test("deep nesting fails as libbpf does", () => {
    let a = li;
    let b = ti;
    for (let i = 0; i < 40; i++) { a = l.ptr(a); b = t.ptr(b); }
    expect(() => m(a, b)).toThrow(expect.objectContaining({ code: "CORE_UNSATISFIABLE" }));
  });
});

describe("TYPE_EXISTS uses libbpf's compatibility (typesAreCompatible), with its limit", () => {
  test("32 levels of pointers are an error, not a mismatch", () => {
    const l = new Builder();
    const t = new Builder();
    let a = l.int("int", 4, true);
    let b = t.int("int", 4, true);
    for (let i = 0; i < 40; i++) { a = l.ptr(a); b = t.ptr(b); }
    const la = l.typedef("deep", a);
    t.typedef("deep", b);
    expect(() => run("TYPE_EXISTS", la, "0", l.btf, t.btf)).toThrow(expect.objectContaining({ code: "CORE_UNSATISFIABLE" }));
  });
});

describe("what CO-RE uses of a BTF", () => {
  /** `btf` as a CoreBtf that throws on any member but `allowed` (and reads `idsByEssentialName` as absent). */
  function only(btf: Btf, allowed: string[], seen: Set<string>): CoreBtf {
    return new Proxy(btf, {
      get(t, p) {
        if (typeof p === "symbol") return Reflect.get(t, p);
        seen.add(p);
        if (p === "idsByEssentialName") return undefined;
        if (!allowed.includes(p)) throw new Error(`CO-RE used btf.${p}`);
        const v = Reflect.get(t, p);
        return typeof v === "function" ? v.bind(t) : v;
      },
    }) as unknown as CoreBtf;
  }
  const MEMBERS = ["count", "startId", "type", "resolve", "sizeof", "idsByName"];

  test("count, startId, type, resolve, sizeof, idsByName (and the local BTF's littleEndian)", () => {
    const seenLocal = new Set<string>();
    const seenTarget = new Set<string>();
    const ctx = new CoreContext(only(L.btf, [...MEMBERS, "littleEndian"], seenLocal), vmlinux(only(T.btf, MEMBERS, seenTarget) as Btf));
    const kinds: [CoreReloKindName, number, string][] = [
      ["FIELD_BYTE_OFFSET", lFoo, "0:1:1:2"], ["FIELD_BYTE_SIZE", lFoo, "0:2"], ["FIELD_EXISTS", lFoo, "0:5:9"], ["FIELD_SIGNED", lInner, "0:1"],
      ["FIELD_LSHIFT_U64", lInner, "0:2"], ["FIELD_RSHIFT_U64", lInner, "0:2"], ["TYPE_ID_LOCAL", lFoo, "0"], ["TYPE_ID_TARGET", lFooT, "0"],
      ["TYPE_EXISTS", lFoo, "0"], ["TYPE_SIZE", lFoo, "0"], ["TYPE_MATCHES", lFoo, "0"], ["TYPE_MATCHES", lInner, "0"],
    ];
    for (const [kind, id, access] of kinds) ctx.relocate(relo(id, access, kind));
    expect([...seenTarget].sort()).toEqual(["count", "idsByEssentialName", "idsByName", "resolve", "sizeof", "startId", "type"]);
    expect([...seenLocal].every((m) => [...MEMBERS, "littleEndian"].includes(m))).toBe(true);
  });

  test("a BTF that lists types by essential name is asked instead of being walked", () => {
    const t = new Builder();
    const tpr = prims(t);
    const plain = t.struct("s", 4, [["a", tpr.int, 0]]);
    const flav = t.struct("s___2", 4, [["a", tpr.int, 0]]);
    const asked: string[] = [];
    let reads = 0;
    const btf: CoreBtf = {
      count: t.btf.count, startId: 1,
      type: (id) => { reads++; return t.btf.type(id); },
      resolve: (id) => t.btf.resolve(id), sizeof: (id) => t.btf.sizeof(id),
      idsByName: () => { throw new Error("not used when idsByEssentialName is there"); },
      idsByEssentialName: (e) => { asked.push(e); return e === "s" ? [plain, flav] : []; },
    };
    const l = new Builder();
    const ls = l.struct("s___mine", 4, [["a", l.int("int", 4, true), 0]]);
    const r = new CoreContext(l.btf, [{ name: "vmlinux", btf }]).relocate(relo(ls, "0:0", "FIELD_BYTE_OFFSET"));
    expect(r).toMatchObject({ newVal: 0n, matches: 2 });
    expect(asked).toEqual(["s"]);
    expect(reads).toBeLessThan(20);
  });
});

test("the README's CO-RE example runs and prints what its comments say", async () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const code = /### CO-RE relocations[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  const dir = mkdtempSync(join(tmpdir(), "x-core-readme-"));
  const logs: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logs.push(args.map((x) => (typeof x === "bigint" ? `${x}n` : String(x))).join(" ")));
  try {
    writeFileSync(join(dir, "example.ts"), code);
    await import(/* @vite-ignore */ join(dir, "example.ts"));
  } finally {
    spy.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(logs).toEqual([
    "<byte_off> [3] struct task_struct.pid (0:0 @ offset 0) => <byte_off> [3] struct task_struct.pid (0:1 @ offset 1264) 1264n",
    "prog 'probe': relo #0: patched insn #0 (LDX/ST/STX) off 0 -> 1264 0: r0 = *(u32 *)(r1 + 1264)\n1: exit",
    "true field 'state' not found in struct task_struct of vmlinux",
  ]);
  // each printed line is the comment under its console.log
  const comments = [...code.matchAll(/^\/\/ (.*)$/gm)].map((m) => m[1]!).filter((c) => !c.startsWith("The object's"));
  expect(comments[0]).toBe(logs[0]);
  expect(logs[1]!.startsWith(comments[1]!.replace(/ …$/, ""))).toBe(true);
  expect(code).toContain(`// ${logs[2]}`);
});

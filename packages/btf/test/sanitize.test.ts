// Pure tests of sanitizeBtf: type ids stay stable, the input is untouched, and the QMARK rule,
// which the installed libbpf (1.1) predates, so sanitize.libbpf.test.ts cannot compare it:
// its expectation is read from libbpf's bpf_object__sanitize_btf (first '?' → '_', DATASEC kept).
import { describe, expect, test } from "vitest";
import { Btf, parseBtf, sanitizeBtf, type BtfType } from "@x/btf";

const base = (): Btf => new Btf([
  { kind: "INT", name: "int", size: 4, encoding: 1, offset: 0, bits: 32 },               // 1
  { kind: "VAR", name: "opt", type: 1, linkage: "global" },                               // 2
  { kind: "DATASEC", name: "?.data.opt", size: 8, vars: [{ type: 2, offset: 4, size: 4 }] }, // 3
  { kind: "ENUM", name: "e", size: 4, signed: true, values: [{ name: "NEG", value: -2 }] }, // 4
  { kind: "ENUM64", name: "w", size: 8, signed: false, values: [{ name: "BIG", value: 1n << 40n }] }, // 5
  { kind: "FUNC_PROTO", name: "", returnType: 1, params: [{ name: "x", type: 1 }] },     // 6
  { kind: "FUNC", name: "f", type: 6, linkage: "global" },                                // 7
]);

describe("sanitizeBtf", () => {
  test("nothing missing: an equal clone, nothing changed", () => {
    const b = base();
    const r = sanitizeBtf(b, []);
    expect(r.btf).not.toBe(b);
    expect(r.btf.types).toEqual(b.types);
    expect(r.changed).toEqual([]);
  });

  test("btf_qmark_datasec: the leading '?' of a DATASEC name becomes '_' (nothing else changes)", () => {
    const r = sanitizeBtf(base(), ["btf_qmark_datasec"]);
    expect(r.btf.types[3]).toEqual({ kind: "DATASEC", name: "_.data.opt", size: 8, vars: [{ type: 2, offset: 4, size: 4 }] });
    expect(r.btf.types.filter((_, i) => i !== 3)).toEqual(base().types.filter((_, i) => i !== 3));
    expect(r.changed).toEqual(["btf_qmark_datasec: '?' DATASEC name → '_' (1)"]);
  });

  test("btf_datasec takes precedence: every '.' and '?' → '_' in the STRUCT's name", () => {
    const r = sanitizeBtf(base(), ["btf_datasec", "btf_qmark_datasec"]);
    expect(r.btf.types[2]).toEqual({ kind: "INT", name: "opt", size: 1, encoding: 0, offset: 0, bits: 8 });
    expect(r.btf.types[3]).toEqual({ kind: "STRUCT", name: "__data_opt", size: 8, kindFlag: false, members: [{ name: "opt", type: 2, bitOffset: 32, bitSize: 0 }] });
  });

  test("ids are stable: only ENUM64 appends one placeholder INT; the input is untouched", () => {
    const b = base();
    const before = structuredClone(b.types) as BtfType[];
    const r = sanitizeBtf(b, ["btf_enum64", "btf_func"]);
    expect(b.types).toEqual(before);
    expect(r.btf.count).toBe(b.count + 1);
    expect(r.btf.types[8]).toEqual({ kind: "INT", name: "enum64_placeholder", size: 1, encoding: 0, offset: 0, bits: 8 });
    expect(r.btf.types[4]).toEqual({ kind: "ENUM", name: "e", size: 4, signed: false, values: [{ name: "NEG", value: 0xfffffffe }] });
    expect(r.btf.types[5]).toEqual({ kind: "UNION", name: "w", size: 8, kindFlag: false, members: [{ name: "BIG", type: 8, bitOffset: 0, bitSize: 0 }] });
    expect(r.btf.types[6]).toEqual({ kind: "ENUM", name: "", size: 4, signed: false, values: [{ name: "x", value: 1 }] });
    expect(r.btf.types[7]).toEqual({ kind: "TYPEDEF", name: "f", type: 6 });
    // and it still encodes and parses
    expect(parseBtf(r.btf.encode()).types).toEqual(r.btf.types);
  });
});

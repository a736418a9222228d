import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseBtf } from "@x/btf";
import { compareWithBpftool, hasBpftool, hasVmlinux, localObj, readElf, sharedObj, SHARED_FIXTURES } from "./helpers.js";

describe("parseBtf against bpftool", () => {
  for (const f of SHARED_FIXTURES) {
    test.skipIf(!hasBpftool && !process.env.CI)(`fixtures/obj/${f}`, () => {
      compareWithBpftool(parseBtf(readElf(sharedObj(f)).section(".BTF")), sharedObj(f));
    });
  }
  for (const f of ["kinds.bpfel.o", "kinds.bpfeb.o", "globals.bpfeb.o"]) {
    test.skipIf(!hasBpftool && !process.env.CI)(`test/fixtures/${f}`, () => {
      compareWithBpftool(parseBtf(readElf(localObj(f)).section(".BTF")), localObj(f));
    });
  }
  test.skipIf((!hasBpftool || !hasVmlinux) && !process.env.CI)("/sys/kernel/btf/vmlinux", () => {
    compareWithBpftool(parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux"))), "/sys/kernel/btf/vmlinux");
  });
});

describe("byte order", () => {
  test("big-endian BTF parses to the same types as little-endian", () => {
    const le = parseBtf(readElf(localObj("globals.bpfel.o")).section(".BTF"));
    const be = parseBtf(readElf(localObj("globals.bpfeb.o")).section(".BTF"));
    expect(le.littleEndian).toBe(true);
    expect(be.littleEndian).toBe(false);
    expect(be.types).toEqual(le.types);
  });
});

describe("kinds and kind_flag semantics (kinds.bpf.c)", () => {
  const btf = parseBtf(readElf(localObj("kinds.bpfel.o")).section(".BTF"));
  test("bitfield members of a kind_flag struct", () => {
    const s = btf.type(btf.find("flags", "STRUCT")!, "STRUCT");
    expect(s.kindFlag).toBe(true);
    expect(s.members.map((m) => [m.name, m.bitOffset, m.bitSize])).toEqual([["a", 0, 3], ["b", 3, 5], ["c", 8, 40], ["s", 48, 4], ["tail", 56, 0]]);
  });
  test("signed ENUM and unsigned ENUM64", () => {
    expect(btf.type(btf.find("sign")!)).toEqual({ kind: "ENUM", name: "sign", size: 4, signed: true, values: [{ name: "NEG", value: -2 }, { name: "ZERO", value: 0 }, { name: "POS", value: 3 }] });
    expect(btf.type(btf.find("wide")!)).toEqual({ kind: "ENUM64", name: "wide", size: 8, signed: false, values: [{ name: "WIDE_SMALL", value: 1n }, { name: "WIDE_BIG", value: 0xfedcba9876543210n }] });
  });
  test("FUNC linkage, DECL_TAG component_idx, TYPE_TAG, FWD, FLOAT", () => {
    expect(btf.type(btf.find("tagged_fn")!)).toMatchObject({ kind: "FUNC", linkage: "global" });
    expect(btf.type(btf.find("arg_tag")!)).toMatchObject({ kind: "DECL_TAG", componentIdx: 0, attr: false, type: btf.find("tagged_fn") });
    expect(btf.type(btf.find("fn_tag")!)).toMatchObject({ kind: "DECL_TAG", componentIdx: -1 });
    expect(btf.type(btf.find("user")!)).toEqual({ kind: "TYPE_TAG", name: "user", type: btf.find("int"), attr: false });
    expect(btf.type(btf.find("bpf_sock")!)).toEqual({ kind: "FWD", name: "bpf_sock", union: false });
    expect(btf.type(btf.find("double")!)).toEqual({ kind: "FLOAT", name: "double", size: 8 });
  });
  test("VAR linkage", () => {
    expect(btf.type(btf.find("LINUX_KERNEL_VERSION")!)).toMatchObject({ kind: "VAR", linkage: "extern" });
    expect(btf.type(btf.find("hidden_var")!)).toMatchObject({ kind: "VAR", linkage: "global" });
  });
});

describe("Btf queries", () => {
  const btf = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
  const varType = (n: string) => btf.type(btf.find(n, "VAR")!, "VAR").type;
  test("type(), find(), findAll(), nameIndex()", () => {
    expect(btf.type(0)).toEqual({ kind: "VOID", name: "" });
    expect(btf.find("limits")).toBe(20);
    expect(btf.find("limits", "TYPEDEF")).toBeUndefined();
    expect(btf.findAll("int")).toEqual([2]);
    expect(btf.nameIndex().get("__u32")).toEqual([8]);
    expect(() => btf.type(20, "UNION")).toThrow(expect.objectContaining({ code: "BTF_BAD_KIND", location: { btfTypeId: 20, btfKind: "STRUCT" } }));
    expect(() => btf.type(9999)).toThrow(expect.objectContaining({ code: "BTF_BAD_TYPE_ID" }));
  });
  test("resolve() skips typedef/const/volatile", () => {
    expect(btf.resolveType(varType("cfg_limits"))).toMatchObject({ kind: "STRUCT", name: "limits" });
    expect(btf.resolveType(varType("cfg_u32"))).toMatchObject({ kind: "INT", name: "unsigned int" });
  });
  test("sizeof() and alignof()", () => {
    const expected: Record<string, [number, number]> = {
      cfg_u8: [1, 1], cfg_s16: [2, 2], cfg_u32: [4, 4], cfg_s64: [8, 8], cfg_u64: [8, 8], cfg_bool: [1, 1],
      cfg_mode: [4, 4], cfg_name: [16, 1], cfg_limits: [24, 8], data_array: [16, 4], bss_buf: [32, 1],
    };
    for (const [name, [size, align]] of Object.entries(expected)) {
      expect([name, btf.sizeof(varType(name)), btf.alignof(varType(name))]).toEqual([name, size, align]);
    }
    expect(btf.sizeof(btf.find("counters", "VAR")!)).toBe(32);
    expect(btf.sizeof(1)).toBe(8); // PTR
    expect(() => btf.sizeof(0)).toThrow(expect.objectContaining({ code: "BTF_NO_SIZE" }));
    expect(() => btf.sizeof(btf.find("mix", "FUNC")!)).toThrow(expect.objectContaining({ code: "BTF_NO_SIZE" }));
  });
  test("packed struct has alignment 1", () => {
    const kinds = parseBtf(readElf(localObj("kinds.bpfel.o")).section(".BTF"));
    expect(kinds.alignof(kinds.find("flags")!)).toBe(8);
    expect(kinds.alignof(kinds.find("with_anon")!)).toBe(8);
  });
});

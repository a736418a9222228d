import { describe, expect, test } from "vitest";
import { Btf, BtfError, decodeValue, formatType, parseBtf, parseBtfHeader, type BtfType } from "@x/btf";
import { parseLazyWalked, readElf, sharedObj, snapshot } from "./helpers.js";

const good = readElf(sharedObj("globals.bpf.o")).section(".BTF");
const HDR = 24;

function mutate(f: (b: Uint8Array, dv: DataView) => void, from: Uint8Array = good): Uint8Array {
  const b = from.slice();
  f(b, new DataView(b.buffer));
  return b;
}
function code(fn: () => unknown): string {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(BtfError); return (e as BtfError).code; }
  return "no error";
}
const enc = (types: BtfType[]) => new Btf(types).encode();
/** The error of parsing `bytes` lazily (`at: "open"`) or of decoding and indexing it afterwards (`at: "use"`). */
function lazyError(bytes: Uint8Array): { at: "open" | "use"; error: BtfError } | "no error" {
  let b: Btf;
  try { b = parseBtf(bytes, { lazy: true }); } catch (e) { expect(e).toBeInstanceOf(BtfError); return { at: "open", error: e as BtfError }; }
  try { parseLazyWalked(bytes); } catch (e) { expect(e).toBeInstanceOf(BtfError); return { at: "use", error: e as BtfError }; }
  expect(b.count).toBeGreaterThan(0);
  return "no error";
}
const INT: BtfType = { kind: "INT", name: "int", size: 4, encoding: 1, offset: 0, bits: 32 };

describe("parseBtf rejects malformed input with typed errors (the lazy parser: the same, at open or when the type is used)", () => {
  test.each([
    ["empty", new Uint8Array(0), "BTF_TRUNCATED"],
    ["header cut", good.slice(0, 20), "BTF_TRUNCATED"],
    ["data cut", good.slice(0, good.length - 10), "BTF_TRUNCATED"],
    ["bad magic", mutate((b) => { b[0] = 0x12; }), "BTF_BAD_MAGIC"],
    ["bad version", mutate((b) => { b[2] = 9; }), "BTF_BAD_VERSION"],
    ["hdr_len too small", mutate((_b, dv) => dv.setUint32(4, 8, true)), "BTF_BAD_HEADER"],
    ["hdr_len too large", mutate((_b, dv) => dv.setUint32(4, 1 << 30, true)), "BTF_TRUNCATED"],
    ["type section past the end", mutate((_b, dv) => dv.setUint32(12, dv.getUint32(12, true) + 100000, true)), "BTF_TRUNCATED"],
    ["misaligned type section", mutate((_b, dv) => dv.setUint32(8, 2, true)), "BTF_BAD_HEADER"],
    ["overlapping sections", mutate((_b, dv) => dv.setUint32(16, 8, true)), "BTF_BAD_HEADER"],
    ["string table not NUL-terminated", mutate((b) => { b[b.length - 1] = 0x41; }), "BTF_BAD_STRING"],
  ])("%s", (_n, bytes, c) => {
    expect(code(() => parseBtf(bytes))).toBe(c);
    expect(lazyError(bytes)).toMatchObject({ at: "open", error: { code: c } }); // header and string section: at open
  });

  test("bogus string offset in a type name", () => {
    const b = mutate((_b, dv) => dv.setUint32(HDR + 16 /* type 2 name_off */, 0x7fffff, true), enc([INT, INT]));
    const e = (() => { try { parseBtf(b); } catch (x) { return x as BtfError; } })();
    expect(e).toMatchObject({ code: "BTF_BAD_STRING", location: { offset: 0x7fffff } });
    expect(e!.message).toContain("type [2] name");
    const lazy = parseBtf(b, { lazy: true }); // names are read when used
    expect(lazy.type(1).name).toBe("int");
    expect(() => lazy.type(2)).toThrow(e!.message);
    expect(lazyError(b)).toMatchObject({ at: "use", error: { code: "BTF_BAD_STRING", message: e!.message, location: { offset: 0x7fffff } } });
  });

  test("bogus string offset in a member name", () => {
    const b = enc([INT, { kind: "STRUCT", name: "s", size: 4, kindFlag: false, members: [{ name: "m", type: 1, bitOffset: 0, bitSize: 0 }] }]);
    const bad = mutate((_b, dv) => dv.setUint32(HDR + 16 + 12, 99999, true), b);
    expect(code(() => parseBtf(bad))).toBe("BTF_BAD_STRING");
    expect(lazyError(bad)).toMatchObject({ at: "use", error: { code: "BTF_BAD_STRING" } });
  });

  test("type id out of range", () => {
    const b = mutate((_b, dv) => dv.setUint32(HDR + 16 + 8, 77, true), enc([INT, { kind: "PTR", name: "", type: 1 }]));
    const e = (() => { try { parseBtf(b); } catch (x) { return x as BtfError; } })();
    expect(e).toMatchObject({ code: "BTF_BAD_TYPE_ID", location: { btfTypeId: 2, btfKind: "PTR" } });
    const lazy = parseBtf(b, { lazy: true }); // references are checked when the type is decoded
    expect(lazy.idsByName("int")).toEqual([1]);
    expect(() => lazy.type(2)).toThrow(e!.message);
    expect(() => lazy.resolve(2)).toThrow(expect.objectContaining({ code: "BTF_BAD_TYPE_ID", location: { btfTypeId: 2, btfKind: "PTR" } }));
  });

  test("unknown kind", () => {
    const b = mutate((_b, dv) => dv.setUint32(HDR + 4, 25 << 24, true), enc([{ kind: "PTR", name: "", type: 0 }]));
    expect(code(() => parseBtf(b))).toBe("BTF_BAD_KIND");
    expect(lazyError(b)).toMatchObject({ at: "open", error: { code: "BTF_BAD_KIND", location: { btfTypeId: 1 } } }); // record structure: at open
  });

  test("vlen running past the end of the type section", () => {
    const b = enc([INT, { kind: "STRUCT", name: "s", size: 4, kindFlag: false, members: [{ name: "m", type: 1, bitOffset: 0, bitSize: 0 }] }]);
    const bad = mutate((_b, dv) => dv.setUint32(HDR + 16 + 4, (4 << 24) | 50, true), b);
    const e = (() => { try { parseBtf(bad); } catch (x) { return x as BtfError; } })();
    expect(e).toMatchObject({ code: "BTF_TRUNCATED", location: { btfTypeId: 2, btfKind: "STRUCT" } });
    expect(lazyError(bad)).toMatchObject({ at: "open", error: { code: "BTF_TRUNCATED", message: e!.message, location: e!.location } });
  });

  test("reserved bits, bad kind_flag, bad linkage", () => {
    const cases: [Uint8Array, "open" | "use"][] = [
      [mutate((_b, dv) => dv.setUint32(HDR + 4, (2 << 24) | 0x10000, true), enc([{ kind: "PTR", name: "", type: 0 }])), "open"],
      [mutate((_b, dv) => dv.setUint32(HDR + 4, (2 << 24) | 0x80000000, true), enc([{ kind: "PTR", name: "", type: 0 }])), "open"],
      [mutate((_b, dv) => dv.setUint32(HDR + 4, (12 << 24) | 3, true), enc([{ kind: "FUNC", name: "f", type: 0, linkage: "global" }])), "open"],
      [mutate((_b, dv) => dv.setUint32(HDR + 12, 7, true), enc([{ kind: "VAR", name: "v", type: 0, linkage: "global" }])), "use"], // in the VAR's own record
      [mutate((_b, dv) => dv.setUint32(HDR + 12, 0x100, true), enc([INT])), "use"], // INT encoding
    ];
    for (const [bytes, at] of cases) {
      const e = (() => { try { parseBtf(bytes); } catch (x) { return x as BtfError; } })();
      expect(e).toMatchObject({ code: "BTF_INVALID" });
      expect(lazyError(bytes)).toMatchObject({ at, error: { code: "BTF_INVALID", message: e!.message, location: e!.location } });
    }
  });

  test("big-endian header is detected from the magic", () => {
    const be = new Btf([INT], false).encode();
    expect(be[0]).toBe(0xeb);
    expect(parseBtfHeader(be).littleEndian).toBe(false);
    expect(parseBtf(be).types[1]).toEqual(INT);
  });

  test("every truncation of a valid blob fails cleanly (no RangeError, no hang)", () => {
    const small = enc([INT, { kind: "STRUCT", name: "s", size: 4, kindFlag: true, members: [{ name: "m", type: 1, bitOffset: 0, bitSize: 3 }] }, { kind: "ENUM64", name: "e", size: 8, signed: false, values: [{ name: "A", value: 1n }] }]);
    for (let n = 0; n < small.length; n++) {
      expect(code(() => parseBtf(small.slice(0, n)))).not.toBe("no error");
      expect(lazyError(small.slice(0, n))).not.toBe("no error");
    }
  });

  test("random byte flips never throw anything but BtfError; the lazy parser fails on the same blobs (at open or on use), and reads the others alike", () => {
    let seed = 1;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let parsed = 0;
    for (let i = 0; i < 2000; i++) {
      const b = good.slice();
      for (let j = 0; j < 3; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      let eager: Btf | undefined;
      try { eager = parseBtf(b); } catch (e) { expect(e).toBeInstanceOf(BtfError); }
      const lazy = lazyError(b);
      expect([i, lazy === "no error"]).toEqual([i, eager !== undefined]);
      if (!eager) continue;
      parsed++;
      const l = parseBtf(b, { lazy: true });
      expect(snapshot(l.types)).toBe(snapshot(eager.types));
      for (const [name, ids] of eager.nameIndex()) expect(l.idsByName(name)).toEqual(ids);
    }
    expect(parsed).toBeGreaterThan(0);
  });
});

describe("loops are detected, not followed forever", () => {
  test("PTR -> PTR -> PTR back to itself", () => {
    const btf = parseBtf(enc([{ kind: "PTR", name: "", type: 2 }, { kind: "PTR", name: "", type: 3 }, { kind: "PTR", name: "", type: 1 }]));
    expect(btf.resolve(1)).toBe(1); // a pointer is not skipped by resolve
    expect(btf.sizeof(1)).toBe(8);
    const e = (() => { try { formatType(btf, 1); } catch (x) { return x as BtfError; } })();
    expect(e).toMatchObject({ code: "BTF_LOOP" });
  });

  test("CONST -> VOLATILE -> TYPEDEF -> CONST", () => {
    const btf = parseBtf(enc([{ kind: "CONST", name: "", type: 2 }, { kind: "VOLATILE", name: "", type: 3 }, { kind: "TYPEDEF", name: "t", type: 1 }]));
    for (const f of [() => btf.resolve(1), () => btf.sizeof(2), () => btf.alignof(3), () => decodeValue(btf, 1, new Uint8Array(8))]) {
      expect(code(f)).toBe("BTF_LOOP");
    }
    expect(formatType(btf, 1)).toBe("const volatile t"); // typedefs print by name, so nothing to follow
  });

  test("ARRAY of itself, STRUCT containing itself", () => {
    const arr = parseBtf(enc([INT, { kind: "ARRAY", name: "", type: 2, indexType: 1, nelems: 2 }]));
    expect(code(() => arr.sizeof(2))).toBe("BTF_LOOP");
    expect(code(() => arr.alignof(2))).toBe("BTF_LOOP");
    const st = parseBtf(enc([INT, { kind: "STRUCT", name: "s", size: 8, kindFlag: false, members: [{ name: "self", type: 2, bitOffset: 0, bitSize: 0 }] }]));
    expect(st.sizeof(2)).toBe(8);
    expect(code(() => st.alignof(2))).toBe("BTF_LOOP");
    expect(code(() => decodeValue(st, 2, new Uint8Array(8)))).toBe("BTF_LOOP");
  });

  test("a long but finite chain is fine", () => {
    const types: BtfType[] = [INT];
    for (let i = 0; i < 5000; i++) types.push({ kind: "TYPEDEF", name: `t${i}`, type: types.length });
    const btf = new Btf(types);
    expect(btf.resolve(btf.types.length - 1)).toBe(1);
    expect(btf.sizeof(btf.types.length - 1)).toBe(4);
  });
});

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Btf, parseBtf, type BtfType } from "@x/btf";
import { hasVmlinux, localObj, readElf, sharedObj, SHARED_FIXTURES } from "./helpers.js";

const name = fc.oneof(
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]{0,10}$/) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }).filter((s) => !s.includes("\0")) },
);
const u32 = fc.nat({ max: 0xffffffff });
const linkage = fc.constantFrom("static" as const, "global" as const, "extern" as const);

/** A type whose references point into a table of `n` types (ids 0..n). */
function typeArb(n: number): fc.Arbitrary<BtfType> {
  const ref = fc.nat({ max: n });
  const list = <T>(a: fc.Arbitrary<T>) => fc.array(a, { maxLength: 5 });
  return fc.oneof(
    fc.record({ kind: fc.constant("INT" as const), name, size: fc.constantFrom(1, 2, 4, 8, 16), encoding: fc.nat({ max: 15 }), offset: fc.nat({ max: 255 }), bits: fc.nat({ max: 255 }) }),
    fc.record({ kind: fc.constantFrom("PTR" as const, "TYPEDEF" as const, "VOLATILE" as const, "CONST" as const, "RESTRICT" as const), name, type: ref }),
    fc.record({ kind: fc.constant("TYPE_TAG" as const), name, type: ref, attr: fc.boolean() }),
    fc.record({ kind: fc.constant("ARRAY" as const), name, type: ref, indexType: ref, nelems: u32 }),
    fc.boolean().chain((kindFlag) =>
      fc.record({
        kind: fc.constantFrom("STRUCT" as const, "UNION" as const), name, size: u32, kindFlag: fc.constant(kindFlag),
        members: list(fc.record({ name, type: ref, bitOffset: kindFlag ? fc.nat({ max: 0xffffff }) : u32, bitSize: kindFlag ? fc.nat({ max: 255 }) : fc.constant(0) })),
      })),
    fc.boolean().chain((signed) =>
      fc.record({
        kind: fc.constant("ENUM" as const), name, size: fc.constantFrom(1, 2, 4, 8), signed: fc.constant(signed),
        values: list(fc.record({ name, value: signed ? fc.integer({ min: -0x80000000, max: 0x7fffffff }) : u32 })),
      })),
    fc.boolean().chain((signed) =>
      fc.record({
        kind: fc.constant("ENUM64" as const), name, size: fc.constantFrom(1, 2, 4, 8), signed: fc.constant(signed),
        values: list(fc.record({ name, value: signed ? fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }) : fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) })),
      })),
    fc.record({ kind: fc.constant("FWD" as const), name, union: fc.boolean() }),
    fc.record({ kind: fc.constant("FUNC" as const), name, type: ref, linkage }),
    fc.record({ kind: fc.constant("FUNC_PROTO" as const), name, returnType: ref, params: list(fc.record({ name, type: ref })) }),
    fc.record({ kind: fc.constant("VAR" as const), name, type: ref, linkage }),
    fc.record({ kind: fc.constant("DATASEC" as const), name, size: u32, vars: list(fc.record({ type: ref, offset: u32, size: u32 })) }),
    fc.record({ kind: fc.constant("FLOAT" as const), name, size: fc.constantFrom(2, 4, 8, 12, 16) }),
    fc.record({ kind: fc.constant("DECL_TAG" as const), name, type: ref, componentIdx: fc.integer({ min: -1, max: 1000 }), attr: fc.boolean() }),
  ) as fc.Arbitrary<BtfType>;
}

const graphArb = fc.integer({ min: 0, max: 25 }).chain((n) => fc.array(typeArb(n), { minLength: n, maxLength: n }));

/** Types as comparable text (bigints tagged). */
const snapshot = (types: readonly BtfType[]) => JSON.stringify(types, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));

describe("encode round trip", () => {
  test("property: parseBtf(encode(x)) deep-equals x, both byte orders", () => {
    fc.assert(
      fc.property(graphArb, fc.boolean(), (types, le) => {
        const btf = new Btf(types, le);
        const back = parseBtf(btf.encode());
        expect(back.littleEndian).toBe(le);
        expect(back.types).toEqual(btf.types);
      }),
      { numRuns: 300 },
    );
  });

  test("property: the string table is deduplicated", () => {
    fc.assert(
      fc.property(graphArb, (types) => {
        const bytes = new Btf(types).encode();
        const dv = new DataView(bytes.buffer);
        const strOff = 24 + dv.getUint32(16, true);
        const strs = new TextDecoder().decode(bytes.subarray(strOff, strOff + dv.getUint32(20, true))).split("\0").slice(0, -1);
        expect(new Set(strs).size).toBe(strs.length);
      }),
      { numRuns: 100 },
    );
  });

  const objects = [...SHARED_FIXTURES.map(sharedObj), localObj("kinds.bpfel.o"), localObj("kinds.bpfeb.o"), localObj("globals.bpfeb.o")];
  for (const path of objects) {
    test(`encode(parse(.BTF)) re-parses to the same types: ${path.split("/").slice(-2).join("/")}`, () => {
      const btf = parseBtf(readElf(path).section(".BTF"));
      const bytes = btf.encode();
      const again = parseBtf(bytes);
      expect(again.types).toEqual(btf.types);
      expect(again.littleEndian).toBe(btf.littleEndian);
      expect(again.encode()).toEqual(bytes); // encoding is deterministic
    });
  }

  test("byte order can be switched on encode", () => {
    const btf = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
    const be = parseBtf(btf.encode({ littleEndian: false }));
    expect(be.littleEndian).toBe(false);
    expect(be.types).toEqual(btf.types);
  });

  test("edits: add a type and rewrite a DATASEC, then encode", () => {
    const btf = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
    const id = btf.add({ kind: "INT", name: "my_int", size: 4, encoding: 1, offset: 0, bits: 32 });
    const ds = btf.type(btf.find(".rodata", "DATASEC")!, "DATASEC");
    ds.name = "_rodata";
    ds.size = 123;
    btf.addString("only.in.strings");
    const enc = btf.encodeWithStrings();
    const back = parseBtf(enc.bytes);
    expect(back.type(id)).toEqual({ kind: "INT", name: "my_int", size: 4, encoding: 1, offset: 0, bits: 32 });
    expect(back.find("_rodata", "DATASEC")).toBe(btf.find("_rodata"));
    expect(back.type(back.find("_rodata")!, "DATASEC").size).toBe(123);
    expect(enc.stringOffset("only.in.strings")).toBeGreaterThan(0);
  });

  test("encode refuses out-of-range fields", () => {
    expect(() => new Btf([{ kind: "PTR", name: "", type: 5 }]).encode()).toThrow(expect.objectContaining({ code: "BTF_BAD_TYPE_ID", location: expect.objectContaining({ btfTypeId: 1 }) }));
    expect(() => new Btf([{ kind: "ENUM", name: "e", size: 4, signed: false, values: [{ name: "A", value: -1 }] }]).encode()).toThrow(expect.objectContaining({ code: "BTF_INVALID" }));
    expect(() => new Btf([{ kind: "STRUCT", name: "s", size: 4, kindFlag: false, members: [{ name: "m", type: 0, bitOffset: 0, bitSize: 3 }] }]).encode()).toThrow(expect.objectContaining({ code: "BTF_INVALID" }));
    expect(() => new Btf([{ kind: "INT", name: "i", size: 4, encoding: 16, offset: 0, bits: 32 }]).encode()).toThrow(expect.objectContaining({ code: "BTF_INVALID" }));
  });

  test("clone() is deep", () => {
    const btf = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
    const c = btf.clone();
    c.type(20, "STRUCT").members[0]!.name = "changed";
    expect(btf.type(20, "STRUCT").members[0]!.name).toBe("kind");
    expect(c.types.length).toBe(btf.types.length);
  });
});

describe.skipIf(!hasVmlinux && !process.env.CI)("vmlinux", () => {
  const raw = hasVmlinux ? new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")) : new Uint8Array();

  test("parse + encode round trip", () => {
    const btf = parseBtf(raw);
    expect(btf.types.length).toBeGreaterThan(10_000);
    const bytes = btf.encode();
    const again = parseBtf(bytes);
    expect(snapshot(again.types)).toBe(snapshot(btf.types));
    expect(Buffer.from(again.encode()).equals(bytes)).toBe(true);
    // The kernel's own string table is already deduplicated, so ours is no bigger.
    expect(bytes.length).toBeLessThanOrEqual(raw.length);
  });

  test("decode time", () => {
    parseBtf(raw); // warm-up
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      parseBtf(raw);
      runs.push(performance.now() - t0);
    }
    runs.sort((a, b) => a - b);
    console.log(`vmlinux decode: median ${runs[2]!.toFixed(1)} ms (min ${runs[0]!.toFixed(1)}, max ${runs[4]!.toFixed(1)}) for ${raw.length} bytes`);
    expect(runs[2]).toBeLessThan(1000); // generous bound for loaded CI machines; target is well under 300 ms
  });

  test("well-known kernel types", () => {
    const btf = parseBtf(raw);
    const ts = btf.find("task_struct", "STRUCT")!;
    expect(btf.type(ts, "STRUCT").members.some((m) => m.name === "pid")).toBe(true);
    expect(btf.sizeof(btf.find("u64", "TYPEDEF")!)).toBe(8);
    expect(btf.alignof(btf.find("u32", "TYPEDEF")!)).toBe(4);
  });
});

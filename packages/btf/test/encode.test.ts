import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Btf, parseBtf, type BtfType } from "@x/btf";
import { graphArb } from "./arbitraries.js";
import { expectLazyLikeEager, hasVmlinux, localObj, readElf, sharedObj, SHARED_FIXTURES } from "./helpers.js";

/** Types as comparable text (bigints tagged). */
const snapshot = (types: readonly BtfType[]) => JSON.stringify(types, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));

describe("encode round trip", () => {
  test("property: parseBtf(encode(x)) deep-equals x, both byte orders; lazily parsed, the same", () => {
    fc.assert(
      fc.property(graphArb, fc.boolean(), (types, le) => {
        const btf = new Btf(types, le);
        const bytes = btf.encode();
        const back = parseBtf(bytes);
        expect(back.littleEndian).toBe(le);
        expect(back.types).toEqual(btf.types);
        expectLazyLikeEager(back, parseBtf(bytes, { lazy: true })); // and the lazy parser answers the same
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

// Split BTF (a kernel module's on top of vmlinux's): built with the encoder, parsed back, checked
// against libbpf (bpftool -B) and corrupted. The running kernel's BTF: kernel-btf.kernel.test.ts.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  Btf, BtfError, decodeValue, extraSize, fixupDatasecs, formatType, parseBtf, parseBtfHeader, sanitizeBtf,
  typeRefs, variables, type BtfType,
} from "@x/btf";
import { SymbolBinding, SymbolType, SymbolVisibility } from "@x/elf";
import { splitPairArb } from "./arbitraries.js";
import { btfStringSection, expectLazyLikeEager, expectSplitLikeLibbpf, hasBpftool, parseLazyWalked } from "./helpers.js";

const INT: BtfType = { kind: "INT", name: "int", size: 4, encoding: 1, offset: 0, bits: 32 };
const LONG: BtfType = { kind: "INT", name: "long", size: 8, encoding: 1, offset: 0, bits: 64 };

/** A small "vmlinux": ids 1..7. */
function handBase(): Btf {
  return new Btf([
    INT, //                                                              1
    LONG, //                                                             2
    { kind: "STRUCT", name: "task_struct", size: 16, kindFlag: false, members: [ // 3
      { name: "pid", type: 5, bitOffset: 0, bitSize: 0 },
      { name: "state", type: 2, bitOffset: 64, bitSize: 0 },
    ] },
    { kind: "PTR", name: "", type: 3 }, //                               4
    { kind: "TYPEDEF", name: "pid_t", type: 1 }, //                      5
    { kind: "CONST", name: "", type: 5 }, //                             6
    { kind: "ENUM", name: "state", size: 4, signed: false, values: [{ name: "RUNNING", value: 0 }, { name: "mod_state", value: 1 }] }, // 7
  ]);
}

/** A "module" on top of {@link handBase} (ids 8..): refers to base types, reuses base strings. */
function addModuleTypes(split: Btf): void {
  const s = split.startId;
  split.add({ kind: "STRUCT", name: "mod_state", size: 24, kindFlag: false, members: [ // s
    { name: "task", type: 4, bitOffset: 0, bitSize: 0 }, //                base PTR, new name
    { name: "pid", type: 6, bitOffset: 64, bitSize: 0 }, //                base name reused
    { name: "counts", type: s + 4, bitOffset: 96, bitSize: 0 }, //        own ARRAY
  ] });
  split.add({ kind: "PTR", name: "", type: s }); //                        s+1
  split.add({ kind: "FUNC_PROTO", name: "", returnType: s + 1, params: [{ name: "p", type: 4 }, { name: "pid", type: 5 }] }); // s+2
  split.add({ kind: "FUNC", name: "mod_lookup", type: s + 2, linkage: "static" }); // s+3
  split.add({ kind: "ARRAY", name: "", type: 1, indexType: 1, nelems: 3 }); // s+4
  split.add({ kind: "VAR", name: "mod_counter", type: 2, linkage: "global" }); // s+5
  split.add({ kind: "DATASEC", name: ".data..percpu", size: 8, vars: [{ type: s + 5, offset: 0, size: 8 }] }); // s+6
}

/** The base as a consumer has it: parsed from its bytes. */
function parsedBase(): { bytes: Uint8Array; btf: Btf } {
  const bytes = handBase().encode();
  return { bytes, btf: parseBtf(bytes) };
}

function moduleOn(base: Btf): Btf {
  const split = Btf.split(base);
  addModuleTypes(split);
  return split;
}

const own = (b: Btf) => b.ownTypes();
const snapshot = (types: readonly BtfType[]) => JSON.stringify(types, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
function err(fn: () => unknown): BtfError | "no error" {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(BtfError); return e as BtfError; }
  return "no error";
}

describe("split BTF built with the encoder", () => {
  test("ids continue after the base; encode writes only the split's own types", () => {
    const { btf: base } = parsedBase();
    const split = moduleOn(base);
    expect(base.count).toBe(8);
    expect(split.startId).toBe(8);
    expect(split.base).toBe(base);
    expect(split.count).toBe(15);
    const bytes = split.encode();
    const h = parseBtfHeader(bytes);
    expect(h.type_len).toBe(own(split).reduce((n, t) => n + 12 + extraSize(t), 0));
    // Own strings only, no leading NUL (libbpf btf__new_empty_split), base strings left out.
    const strs = new TextDecoder().decode(btfStringSection(bytes)).split("\0");
    expect(strs.at(-1)).toBe("");
    expect(strs.slice(0, -1).sort()).toEqual(["counts", "mod_counter", "mod_lookup", "p", "task", ".data..percpu"].sort());
    expect(btfStringSection(bytes)[0]).not.toBe(0);
  });

  test("names shared with the base are encoded at the base's offsets", () => {
    const { bytes: baseBytes, btf: base } = parsedBase();
    const baseStrLen = parseBtfHeader(baseBytes).str_len;
    const { bytes, stringOffset } = moduleOn(base).encodeWithStrings();
    expect(stringOffset("pid")).toBe(base.sourceStrings!.offsetOf("pid"));
    expect(stringOffset("pid")).toBeLessThan(baseStrLen);
    expect(stringOffset("mod_state")).toBe(base.sourceStrings!.offsetOf("mod_state")); // an enumerator's name in the base
    expect(stringOffset("task")).toBe(baseStrLen); // the split's first own string
    // The member "pid" of mod_state (the first own type) points into the base's table.
    const h = parseBtfHeader(bytes);
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    expect(dv.getUint32(h.hdr_len + h.type_off + 12 + 12, true)).toBe(base.sourceStrings!.offsetOf("pid"));
  });

  test("round trip: parseBtf(bytes, { base }) gives the same types, ids and bytes", () => {
    const { btf: base } = parsedBase();
    const split = moduleOn(base);
    const bytes = split.encode();
    const back = parseBtf(bytes, { base });
    expect(back.base).toBe(base);
    expect(back.startId).toBe(split.startId);
    expect(back.count).toBe(split.count);
    expect(own(back)).toEqual(own(split));
    for (let id = 0; id < base.count; id++) expect(back.type(id)).toBe(base.type(id)); // shared, not copied
    expect(back.encode()).toEqual(bytes);
    expect(back.sourceStrings!.start).toBe(base.sourceStrings!.length);
    expect(back.sourceStrings!.lookup(3)).toBe(base.sourceStrings!.lookup(3));
  });

  test("type, resolve, sizeof, alignof, formatType and the value codec cross into the base", () => {
    const { btf: base } = parsedBase();
    const b = parseBtf(moduleOn(base).encode(), { base });
    const s = b.startId;
    expect(b.type(3)).toBe(base.type(3));
    expect(b.type(3, "STRUCT").name).toBe("task_struct");
    expect(b.resolve(6)).toBe(1);
    expect(b.resolveType(b.type(s, "STRUCT").members[1]!.type).kind).toBe("INT");
    expect(b.sizeof(s)).toBe(24);
    expect(b.sizeof(s + 4)).toBe(12);
    expect(b.sizeof(s + 5)).toBe(8);
    expect(b.alignof(s)).toBe(8);
    expect(formatType(b, s + 2)).toBe("struct mod_state *(struct task_struct *p, pid_t pid)");
    expect(formatType(b, s + 3)).toBe("static struct mod_state *mod_lookup(struct task_struct *p, pid_t pid)");
    const value = new Uint8Array(24);
    new DataView(value.buffer).setInt32(8, 42, true);
    expect(decodeValue(b, s, value)).toEqual({ task: 0n, pid: 42, counts: [0, 0, 0] });
    expect(() => b.type(b.count)).toThrow(BtfError);
  });

  test("types: the whole id space, built when read; the split keeps working on it afterwards", () => {
    const { btf: base } = parsedBase();
    const b = parseBtf(moduleOn(base).encode(), { base });
    const before = own(b);
    const all = b.types;
    expect(all.length).toBe(b.count);
    expect(all.slice(0, base.count)).toEqual(base.types);
    for (let id = 0; id < base.count; id++) expect(all[id]).toBe(base.type(id));
    expect(all.slice(b.startId)).toEqual(before);
    expect(b.types).toBe(all); // built once
    const id = b.add({ kind: "PTR", name: "", type: b.startId });
    expect(id).toBe(all.length - 1);
    expect(b.type(id)).toBe(all[id]);
    expect(b.find("mod_state")).toBe(b.startId);
    expect(b.findAll("mod_lookup")).toEqual([b.startId + 3]);
    all[b.startId + 1] = { kind: "TYPEDEF", name: "edited", type: 1 }; // writes through `types` are the split's
    expect(b.type(b.startId + 1)).toMatchObject({ name: "edited" });
    const back = parseBtf(b.encode(), { base });
    expect(own(back)).toEqual(own(b));
    expect(b.nameIndex().get("edited")).toEqual([b.startId + 1]);
  });

  test("find, findAll and nameIndex see the split's own types only (libbpf's *_own)", () => {
    const { btf: base } = parsedBase();
    const b = parseBtf(moduleOn(base).encode(), { base });
    expect(b.find("task_struct")).toBeUndefined();
    expect(b.base!.find("task_struct", "STRUCT")).toBe(3);
    expect(b.find("mod_lookup", "FUNC")).toBe(b.startId + 3);
    expect(b.findAll("mod_state")).toEqual([b.startId]);
    expect([...b.nameIndex().keys()].sort()).toEqual([".data..percpu", "mod_counter", "mod_lookup", "mod_state"]);
  });

  test("variables, the DATASEC fix-up and sanitising touch the split's own types only", () => {
    const base = parseBtf(new Btf([INT, { kind: "VAR", name: "base_var", type: 1, linkage: "global" }, { kind: "DATASEC", name: ".data", size: 4, vars: [{ type: 2, offset: 0, size: 4 }] }, { kind: "FUNC_PROTO", name: "", returnType: 1, params: [] }]).encode());
    const split = Btf.split(base);
    const v = split.add({ kind: "VAR", name: "own_var", type: 1, linkage: "global" });
    split.add({ kind: "DATASEC", name: ".bss", size: 4, vars: [{ type: v, offset: 0, size: 4 }] });
    split.add({ kind: "FUNC_PROTO", name: "", returnType: 1, params: [] });
    expect(variables(split).map((x) => x.name)).toEqual(["own_var"]);
    // Only own_var has a symbol: the base's .data, if it were fixed up, would fail for base_var.
    const sym = { value: 0, binding: SymbolBinding.GLOBAL, visibility: SymbolVisibility.DEFAULT, type: SymbolType.OBJECT };
    fixupDatasecs(split, { sectionSize: () => 4, symbol: (_sec, name) => (name === "own_var" ? sym : undefined) });
    const r = sanitizeBtf(split, ["btf_func", "btf_datasec"]);
    expect(r.btf.base).toBe(base);
    expect(r.btf.type(4).kind).toBe("FUNC_PROTO"); // the base's, untouched
    expect(r.btf.type(split.startId + 2).kind).toBe("ENUM");
    expect(r.btf.type(split.startId + 1).kind).toBe("STRUCT");
    expect(base.type(3).kind).toBe("DATASEC");
  });

  test("an empty split: no types, an empty string section", () => {
    const { btf: base } = parsedBase();
    const bytes = Btf.split(base).encode();
    const h = parseBtfHeader(bytes);
    expect([h.type_len, h.str_len]).toEqual([0, 0]);
    const back = parseBtf(bytes, { base });
    expect(back.count).toBe(base.count);
    expect(back.startId).toBe(base.count);
  });

  test("split of a split: ids and string offsets continue after the middle one's", () => {
    const { btf: base } = parsedBase();
    const mid = parseBtf(moduleOn(base).encode(), { base });
    const top = Btf.split(mid);
    const modState = mid.find("mod_state", "STRUCT")!;
    top.add({ kind: "PTR", name: "", type: modState });
    top.add({ kind: "TYPEDEF", name: "mod_state_p", type: top.startId });
    top.add({ kind: "TYPEDEF", name: "task", type: 4 }); // "task" is the middle one's string
    const { bytes, stringOffset } = top.encodeWithStrings();
    expect(stringOffset("task")).toBe(mid.sourceStrings!.offsetOf("task"));
    expect(stringOffset("mod_state_p")).toBe(mid.sourceStrings!.end);
    const back = parseBtf(bytes, { base: mid });
    expect(back.startId).toBe(mid.count);
    expect(own(back)).toEqual(own(top));
    expect(formatType(back, back.startId + 1)).toBe("mod_state_p");
    expect(back.sizeof(back.startId + 1)).toBe(8);
    expect(back.resolveType(back.startId + 2)).toBe(base.type(4));
    expect(back.encode()).toEqual(bytes);
  });

  test("a base built in memory: its strings are the ones its encoding writes", () => {
    const hand = handBase();
    const parsed = parseBtf(hand.encode());
    const a = moduleOn(hand).encode();
    expect(moduleOn(parsed).encode()).toEqual(a);
    expect(own(parseBtf(a, { base: hand }))).toEqual(own(parseBtf(a, { base: parsed })));
  });

  test("big-endian split on a little-endian base, and the other way", () => {
    const { btf: base } = parsedBase();
    const be = Btf.split(base, [], false);
    addModuleTypes(be);
    const bytes = be.encode();
    expect(parseBtfHeader(bytes).littleEndian).toBe(false);
    const back = parseBtf(bytes, { base });
    expect(back.littleEndian).toBe(false);
    expect(own(back)).toEqual(own(be));
    const leSplit = parseBtf(back.encode({ littleEndian: true }), { base });
    expect(own(leSplit)).toEqual(own(be));
  });

  test("clone keeps the base and copies the split's own types", () => {
    const { btf: base } = parsedBase();
    const split = moduleOn(base);
    const c = split.clone();
    expect(c.base).toBe(base);
    expect(c.startId).toBe(split.startId);
    expect(own(c)).toEqual(own(split));
    expect(c.type(split.startId)).not.toBe(split.type(split.startId));
    expect(c.type(3)).toBe(base.type(3));
    expect(c.encode()).toEqual(split.encode());
  });

  test("misuse is refused: VOID in a split, a base that grew after the split", () => {
    const { btf: base } = parsedBase();
    expect(err(() => Btf.split(base, [{ kind: "VOID", name: "" }]))).toMatchObject({ code: "BTF_BAD_KIND" });
    const split = moduleOn(base);
    base.add(INT);
    expect(err(() => split.encode())).toMatchObject({ code: "BTF_INVALID" });
  });

  test.skipIf(!hasBpftool)("libbpf (bpftool -B) reads the encoded split as we do", () => {
    const { bytes: baseBytes, btf: base } = parsedBase();
    const split = moduleOn(base);
    const bytes = split.encode();
    expectSplitLikeLibbpf(parseBtf(bytes, { base }), baseBytes, bytes);
    const be = Btf.split(base, [], false);
    addModuleTypes(be);
    expectSplitLikeLibbpf(parseBtf(be.encode(), { base }), baseBytes, be.encode());
  });
});

describe("split BTF properties", () => {
  test("property: parse(encode(split), { base }) deep-equals the split, any byte orders, and re-encodes to the same bytes", () => {
    fc.assert(
      fc.property(splitPairArb, ([baseTypes, splitTypes, baseLe, splitLe]) => {
        const base = parseBtf(new Btf(baseTypes, baseLe).encode());
        const split = Btf.split(base, splitTypes, splitLe);
        const bytes = split.encode();
        const back = parseBtf(bytes, { base });
        expect(snapshot(own(back))).toBe(snapshot(splitTypes));
        expect(back.encode()).toEqual(bytes);
        // Every reference resolves, in the base or in the split.
        for (let id = back.startId; id < back.count; id++) for (const r of typeRefs(back.type(id))) expect(back.type(r)).toBeDefined();
        // Lazily, on the same base: the same answers (lazy bases: lazy.test.ts).
        expectLazyLikeEager(back, parseBtf(bytes, { base, lazy: true }));
      }),
      { numRuns: 300 },
    );
  });
});

describe("corrupted split BTF gives typed errors (lazily: the same, at open or when the type is used; on a lazy base too)", () => {
  const { bytes: baseBytes, btf: base } = parsedBase();
  const lazyBase = parseBtf(baseBytes, { lazy: true });
  /** The lazy parser's error on `bytes` (on `base`, and the same on the lazy base): at open, or when decoding and indexing every type. */
  function lazyErr(bytes: Uint8Array, on: Btf = base): { at: "open" | "use"; error: BtfError } | "no error" {
    const one = (b: Btf) => {
      const e = err(() => parseBtf(bytes, { base: b, lazy: true }));
      if (e !== "no error") return { at: "open" as const, error: e };
      const u = err(() => parseLazyWalked(bytes, { base: b }));
      return u === "no error" ? u : { at: "use" as const, error: u };
    };
    const r = one(on);
    const brief = (x: ReturnType<typeof one>) => (x === "no error" ? x : { at: x.at, code: x.error.code, message: x.error.message });
    if (on === base) expect(brief(one(lazyBase))).toEqual(brief(r));
    return r;
  }
  const good = moduleOn(base).encode();
  const h = parseBtfHeader(good);
  const types0 = h.hdr_len + h.type_off;
  const mutate = (f: (dv: DataView, b: Uint8Array) => void) => {
    const b = good.slice();
    f(new DataView(b.buffer), b);
    return b;
  };

  test("a name past the end of the split's strings: BTF_BAD_STRING with the offset, naming the type by its split id", () => {
    const past = base.sourceStrings!.length + h.str_len + 5;
    const e = err(() => parseBtf(mutate((dv) => dv.setUint32(types0, past, true)), { base }));
    expect(e).toMatchObject({ code: "BTF_BAD_STRING", location: { offset: past } });
    expect((e as BtfError).message).toContain(`type [${base.count}] name`);
    expect(lazyErr(mutate((dv) => dv.setUint32(types0, past, true)))).toMatchObject({ at: "use", error: { message: (e as BtfError).message, location: { offset: past } } });
  });

  test("a reference past the last id: BTF_BAD_TYPE_ID at the split id", () => {
    // mod_state's first member type (the first own type is a STRUCT: 12 bytes, then members).
    const e = err(() => parseBtf(mutate((dv) => dv.setUint32(types0 + 12 + 4, 999, true)), { base }));
    expect(e).toMatchObject({ code: "BTF_BAD_TYPE_ID", location: { btfTypeId: base.count, btfKind: "STRUCT" } });
    expect(lazyErr(mutate((dv) => dv.setUint32(types0 + 12 + 4, 999, true)))).toMatchObject({ at: "use", error: { message: (e as BtfError).message, location: (e as BtfError).location } });
  });

  test("a string section that does not end with a NUL", () => {
    expect(err(() => parseBtf(mutate((_dv, b) => { b[b.length - 1] = 0x41; }), { base }))).toMatchObject({ code: "BTF_BAD_STRING" });
    expect(lazyErr(mutate((_dv, b) => { b[b.length - 1] = 0x41; }))).toMatchObject({ at: "open", error: { code: "BTF_BAD_STRING" } });
  });

  test("a record cut short: BTF_TRUNCATED at the split id", () => {
    const bad = mutate((dv) => dv.setUint32(types0 + 4, (4 << 24) | 40, true)); // mod_state with vlen 40
    expect(err(() => parseBtf(bad, { base }))).toMatchObject({ code: "BTF_TRUNCATED", location: { btfTypeId: base.count, btfKind: "STRUCT" } });
    expect(lazyErr(bad)).toMatchObject({ at: "open", error: { code: "BTF_TRUNCATED", location: { btfTypeId: base.count, btfKind: "STRUCT" } } });
  });

  test("parsed without its base, or on a smaller base, a split fails cleanly", () => {
    expect(err(() => parseBtf(good))).toMatchObject({ code: "BTF_BAD_STRING" }); // no leading NUL
    const tiny = parseBtf(new Btf([INT]).encode());
    expect(["BTF_BAD_STRING", "BTF_BAD_TYPE_ID"]).toContain((err(() => parseBtf(good, { base: tiny })) as BtfError).code);
    expect(err(() => parseBtf(good, { lazy: true }))).toMatchObject({ code: "BTF_BAD_STRING" });
    expect(lazyErr(good, tiny)).not.toBe("no error");
    expect(lazyErr(good, parseBtf(new Btf([INT]).encode(), { lazy: true }))).not.toBe("no error");
  });

  test("every truncation fails with a BtfError", () => {
    for (let n = 0; n < good.length; n++) {
      expect(err(() => parseBtf(good.slice(0, n), { base }))).not.toBe("no error");
      expect(lazyErr(good.slice(0, n))).not.toBe("no error");
    }
  });

  test("random byte flips: a BtfError or a split whose every reference resolves; lazily (on either base) the same blobs fail, the others read alike", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const b = good.slice();
      for (let j = 0; j < 1 + (i % 3); j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      let back: Btf;
      const lazy = lazyErr(b);
      try { back = parseBtf(b, { base }); } catch (e) { expect(e).toBeInstanceOf(BtfError); expect([i, lazy]).not.toEqual([i, "no error"]); continue; }
      expect([i, lazy]).toEqual([i, "no error"]);
      expect(snapshot(parseBtf(b, { base: lazyBase, lazy: true }).ownTypes())).toBe(snapshot(back.ownTypes()));
      parsed++;
      for (let id = back.startId; id < back.count; id++) for (const r of typeRefs(back.type(id))) expect(r).toBeLessThan(back.count);
    }
    expect(parsed).toBeGreaterThan(0);
  });
});

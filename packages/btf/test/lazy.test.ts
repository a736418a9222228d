// Lazy BTF (parseBtf(bytes, { lazy: true })): the same answers as the eager parser on every fixture,
// on vmlinux and as a base for split BTF (generated here; the running kernel's modules in
// kernel-btf.kernel.test.ts, on every kernel of the VM matrix); that
// opening decodes nothing; malformed blobs: errors.test.ts and split.test.ts run their cases
// against both parsers.
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { afterEach, describe, expect, test, vi } from "vitest";
import { Btf, BtfError, decodeValue, formatType, parseBtf, StringTable, typeRefs, type BtfType } from "@x/btf";
import { splitPairArb } from "./arbitraries.js";
import { expectLazyLikeEager, hasVmlinux, localObj, readElf, repo, snapshot } from "./helpers.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const fixtureObjects = [
  ...readdirSync(`${repo}fixtures/obj`).filter((f) => f.endsWith(".bpf.o")).sort().map((f) => `${repo}fixtures/obj/${f}`),
  ...readdirSync(localObj(".")).filter((f) => f.endsWith(".o")).sort().map(localObj),
];

afterEach(() => { vi.restoreAllMocks(); });

describe("lazy BTF answers as the eager parser does", () => {
  test.each(fixtureObjects.map((p) => [p.split("/").slice(-2).join("/"), p]))("%s", (_n, path) => {
    const bytes = readElf(path).section(".BTF");
    const eager = parseBtf(bytes);
    const lazy = parseBtf(bytes, { lazy: true });
    expectLazyLikeEager(eager, lazy);
    expect(lazy.types).toEqual(eager.types);
    expect(lazy.encode()).toEqual(eager.encode());
  });

  test.skipIf(!hasVmlinux && !process.env.CI)("/sys/kernel/btf/vmlinux: every type by id, every name, resolve/sizeof/alignof of every id", () => {
    const bytes = new Uint8Array(readFileSync(VMLINUX));
    const eager = parseBtf(bytes);
    const lazy = parseBtf(bytes, { lazy: true });
    expectLazyLikeEager(eager, lazy);
    expect(lazy.sourceStrings!.end).toBe(eager.sourceStrings!.end);
  });
});

describe("a blob of 128 MiB or more (the kinds kept apart from the record offsets)", () => {
  test("a large header pushes the types past 2^27: the same answers", () => {
    const small = readElf(localObj("kinds.bpfel.o")).section(".BTF");
    const hdrLen = 2 ** 27 + 8;
    const big = new Uint8Array(hdrLen + small.length - 24);
    big.set(small.subarray(0, 24));
    new DataView(big.buffer).setUint32(4, hdrLen, true);
    big.set(small.subarray(24), hdrLen);
    expectLazyLikeEager(parseBtf(small), parseBtf(big, { lazy: true }));
    const truncated = big.subarray(0, big.length - parseBtf(small).sourceStrings!.length - 3);
    expect(() => parseBtf(truncated, { lazy: true })).toThrow(expect.objectContaining({ code: "BTF_TRUNCATED" }));
  });
});

describe("opening decodes nothing; each type is decoded once, when first reached", () => {
  const bytes = hasVmlinux ? new Uint8Array(readFileSync(VMLINUX)) : readElf(localObj("kinds.bpfel.o")).section(".BTF");
  const structName = hasVmlinux ? "task_struct" : "flags";

  test("open: no string read, no type decoded, no name indexed", () => {
    const lookup = vi.spyOn(StringTable.prototype, "lookup");
    const get = vi.spyOn(StringTable.prototype, "get");
    const b = parseBtf(bytes, { lazy: true });
    expect(lookup).not.toHaveBeenCalled();
    expect(get).not.toHaveBeenCalled();
    expect(b.lazyStats()).toEqual({ types: b.count - 1, decoded: 0, indexedKinds: [] });
    expect(b.count).toBe(parseBtf(bytes).count);
  });

  test("a lookup by kind indexes that kind's names and decodes nothing; type() decodes that one type", () => {
    const eager = parseBtf(bytes);
    const b = parseBtf(bytes, { lazy: true });
    const lookup = vi.spyOn(StringTable.prototype, "lookup");
    const [id] = b.idsByName(structName, "STRUCT");
    expect(id).toBeGreaterThan(0);
    expect(lookup).not.toHaveBeenCalled(); // names compared as bytes
    expect(b.lazyStats()).toMatchObject({ decoded: 0, indexedKinds: ["STRUCT"] });
    const t = b.type(id!, "STRUCT");
    expect(t.name).toBe(structName);
    expect(b.lazyStats()!.decoded).toBe(1); // not its members' types
    expect(lookup.mock.calls.length).toBe(1 + t.members.length); // its name and its members'
    expect(b.type(id!)).toBe(t);
    expect(b.lazyStats()!.decoded).toBe(1);
    const decodedIds = new Set([id!]);
    // Resolving a member's type decodes the chain of modifiers to it and nothing else.
    for (const m of t.members) {
      const seen = new Set([id!]);
      for (let x = m.type; ; x = (eager.type(x) as { type: number }).type) {
        seen.add(x);
        if (eager.resolve(x) === x) break;
      }
      const before = b.lazyStats()!.decoded;
      const fresh = [...seen].filter((x) => !decodedIds.has(x)).length;
      for (const x of seen) decodedIds.add(x);
      expect(b.resolve(m.type)).toBe(eager.resolve(m.type));
      expect(b.lazyStats()!.decoded).toBe(before + fresh);
    }
    b.idsByName(structName);
    expect(b.lazyStats()!.indexedKinds.length).toBeGreaterThan(1); // without a kind: every kind
    expect(b.lazyStats()!.decoded).toBe(decodedIds.size);
  });

  test("types, add, encode and clone decode everything once; the types decoded before are kept", () => {
    for (const op of [(b: Btf) => b.types, (b: Btf) => b.add({ kind: "PTR", name: "", type: 1 }), (b: Btf) => b.encode(), (b: Btf) => b.clone()]) {
      const b = parseBtf(bytes, { lazy: true });
      const id = b.find(structName, "STRUCT")!;
      const t = b.type(id);
      op(b);
      expect(b.lazyStats()).toBeUndefined();
      expect(b.type(id)).toBe(t);
      expect(b.types[id]).toBe(t);
      expect(b.find(structName, "STRUCT")).toBe(id);
    }
  });

  test("ownTypes decodes every type but stays lazy", () => {
    const b = parseBtf(bytes, { lazy: true });
    const own = b.ownTypes();
    expect(own.length).toBe(b.count - 1);
    expect(b.lazyStats()).toMatchObject({ decoded: b.count - 1 });
    expect(b.type(1)).toBe(own[0]);
  });
});

describe("names", () => {
  const INT: BtfType = { kind: "INT", name: "int", size: 4, encoding: 1, offset: 0, bits: 32 };
  test("lengths around the 4-byte steps, shared prefixes, duplicates across kinds, non-ASCII, at the end of the table", () => {
    const names = ["a", "ab", "abc", "abcd", "abcde", "abcdefg", "abcdefgh", "abcdefghi", "ab", "é", "αβγ", "x\u{1f600}y"];
    for (const [le, last] of [[true, "q"], [false, "qr"], [true, "qrs"], [false, "qrst"], [true, "qrstu"], [true, "é"]] as const) {
      const types: BtfType[] = [INT];
      for (const n of [...names, last]) types.push({ kind: "TYPEDEF", name: n, type: 1 }, { kind: "STRUCT", name: n, size: 0, kindFlag: false, members: [] });
      const bytes = new Btf(types, le).encode(); // the last name is the string table's last string
      expectLazyLikeEager(parseBtf(bytes), parseBtf(bytes, { lazy: true }));
      const lazy = parseBtf(bytes, { lazy: true });
      expect(lazy.idsByName("a", "STRUCT")).toEqual([3]);
      expect(lazy.idsByName("a")).toEqual([2, 3]);
      expect(lazy.idsByName("ab")).toEqual([4, 5, 18, 19]);
      expect(lazy.idsByName(last, "STRUCT")).toEqual(last === "é" ? [21, 27] : [27]);
      for (const miss of ["abcdef", "abcdefghij", "b", "ab\0", "\0", "é\0", "int\0"]) expect([miss, lazy.idsByName(miss)]).toEqual([miss, []]);
      expect(lazy.idsByName("int", "INT")).toEqual([1]);
      expect(lazy.idsByName("int", "VOID")).toEqual([]);
    }
  });

  test("by essential name: flavoured names (x___y) with the plain one, by kind, ascending; lookups decode nothing", () => {
    const names = ["nf_conn", "nf_conn___init", "nf_conn___2", "a___b___c", "a___b", "___x", "foo____bar", "foo___", "_foo___bar", "nf_conn"];
    const types: BtfType[] = [INT];
    for (const n of names) types.push({ kind: "STRUCT", name: n, size: 0, kindFlag: false, members: [] }, { kind: "TYPEDEF", name: n, type: 1 });
    const bytes = new Btf(types).encode();
    const eager = parseBtf(bytes);
    const lazy = parseBtf(bytes, { lazy: true });
    expectLazyLikeEager(eager, lazy);
    const fresh = parseBtf(bytes, { lazy: true });
    expect(fresh.idsByEssentialName("nf_conn", "STRUCT")).toEqual([2, 4, 6, 20]);
    expect(fresh.idsByEssentialName("nf_conn")).toEqual([2, 3, 4, 5, 6, 7, 20, 21]);
    expect(fresh.idsByEssentialName("a___b")).toEqual([8, 9]); // a___b___c's; a___b itself is "a"'s
    expect(fresh.idsByEssentialName("a", "TYPEDEF")).toEqual([11]);
    expect(fresh.idsByEssentialName("_foo")).toEqual([18, 19]);
    expect(fresh.idsByEssentialName("foo")).toEqual([]);
    expect(fresh.lazyStats()!.decoded).toBe(0);
    // A split: flavoured names in the base's strings and in its own.
    const split = Btf.split(lazy, [{ kind: "STRUCT", name: "nf_conn___mod", size: 0, kindFlag: false, members: [] }, { kind: "STRUCT", name: "a___b___c", size: 0, kindFlag: false, members: [] }]);
    const splitBytes = split.encode();
    const onLazy = parseBtf(splitBytes, { base: lazy, lazy: true });
    expectLazyLikeEager(parseBtf(splitBytes, { base: lazy }), onLazy);
    expect(onLazy.idsByEssentialName("nf_conn")).toEqual([lazy.count]);
    expect(onLazy.idsByEssentialName("a___b")).toEqual([lazy.count + 1]);
  });

  test("invalid UTF-8 names: found by the text they decode to, as with the eager parser", () => {
    const bytes = new Btf([INT, { kind: "TYPEDEF", name: "zzz\u00e9", type: 1 }, { kind: "TYPEDEF", name: "qq", type: 1 }]).encode();
    // "zzzé" is 7a 7a 7a c3 a9: make the é an invalid sequence (c3 41 → U+FFFD "A").
    const at = bytes.findIndex((_b, i) => bytes[i] === 0xc3 && bytes[i + 1] === 0xa9);
    bytes[at + 1] = 0x41;
    const eager = parseBtf(bytes);
    expect(eager.type(2).name).toBe("zzz\ufffdA");
    expectLazyLikeEager(eager, parseBtf(bytes, { lazy: true }));
    expect(parseBtf(bytes, { lazy: true }).idsByName("zzz\ufffdA")).toEqual([2]);
    expect(parseBtf(bytes, { lazy: true }).idsByName("zzz\ud800A")).toEqual([]); // a lone surrogate encodes as U+FFFD: still not the name
  });

  test("a bad name offset: open succeeds, the first lookup of that kind (and decoding it) throws BTF_BAD_STRING naming the type", () => {
    const good = new Btf([INT, { kind: "TYPEDEF", name: "t", type: 1 }, { kind: "STRUCT", name: "s", size: 0, kindFlag: false, members: [] }]).encode();
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(24 + 16, 0x7fff, true); // type 2's name_off
    expect(() => parseBtf(bad)).toThrow(expect.objectContaining({ code: "BTF_BAD_STRING" }));
    const b = parseBtf(bad, { lazy: true });
    expect(b.idsByName("s", "STRUCT")).toEqual([3]); // another kind: not read
    expect(b.type(3).name).toBe("s");
    for (const f of [() => b.idsByName("t", "TYPEDEF"), () => b.type(2), () => b.nameIndex(), () => b.idsByName("s"), () => b.types]) {
      let e: unknown;
      try { f(); } catch (x) { e = x; }
      expect(e).toBeInstanceOf(BtfError);
      expect(e).toMatchObject({ code: "BTF_BAD_STRING", location: { offset: 0x7fff } });
      expect((e as BtfError).message).toContain("type [2] name");
    }
  });
});

describe("split BTF on a lazy base", () => {
  const INT: BtfType = { kind: "INT", name: "int", size: 4, encoding: 1, offset: 0, bits: 32 };
  const LONG: BtfType = { kind: "INT", name: "long", size: 8, encoding: 1, offset: 0, bits: 64 };
  const baseTypes = (): BtfType[] => [
    INT, LONG,
    { kind: "STRUCT", name: "task_struct", size: 16, kindFlag: false, members: [{ name: "pid", type: 5, bitOffset: 0, bitSize: 0 }, { name: "state", type: 2, bitOffset: 64, bitSize: 0 }] },
    { kind: "PTR", name: "", type: 3 },
    { kind: "TYPEDEF", name: "pid_t", type: 1 },
    { kind: "CONST", name: "", type: 5 },
    { kind: "ENUM", name: "state", size: 4, signed: false, values: [{ name: "RUNNING", value: 0 }, { name: "mod_state", value: 1 }] },
  ];
  function moduleOn(base: Btf): Btf {
    const split = Btf.split(base);
    const s = split.startId;
    split.add({ kind: "STRUCT", name: "mod_state", size: 24, kindFlag: false, members: [
      { name: "task", type: 4, bitOffset: 0, bitSize: 0 }, { name: "pid", type: 6, bitOffset: 64, bitSize: 0 }, { name: "counts", type: s + 4, bitOffset: 96, bitSize: 0 },
    ] });
    split.add({ kind: "PTR", name: "", type: s });
    split.add({ kind: "FUNC_PROTO", name: "", returnType: s + 1, params: [{ name: "p", type: 4 }, { name: "pid", type: 5 }] });
    split.add({ kind: "FUNC", name: "mod_lookup", type: s + 2, linkage: "static" });
    split.add({ kind: "ARRAY", name: "", type: 1, indexType: 1, nelems: 3 });
    split.add({ kind: "TYPEDEF", name: "task_struct", type: s }); // a name the base has too
    return split;
  }

  test("built with the encoder on a lazy base; parsed eagerly and lazily on it; a split of that split", () => {
    const baseBytes = new Btf(baseTypes()).encode();
    const lazyBase = parseBtf(baseBytes, { lazy: true });
    const built = moduleOn(lazyBase);
    const bytes = built.encode();
    expect(bytes).toEqual(moduleOn(parseBtf(baseBytes)).encode()); // base strings at the same offsets
    expect(lazyBase.lazyStats()).toMatchObject({ decoded: 0 }); // encoding a split reads the base's strings, not its types
    const eagerSplit = parseBtf(bytes, { base: lazyBase });
    const lazySplit = parseBtf(bytes, { base: lazyBase, lazy: true });
    expectLazyLikeEager(eagerSplit, lazySplit);
    expect(snapshot(lazySplit.ownTypes())).toBe(snapshot(built.ownTypes()));
    const s = lazySplit.startId;
    expect(lazySplit.type(3)).toBe(lazyBase.type(3));
    expect(lazySplit.find("task_struct")).toBe(s + 5); // own types only
    expect(lazyBase.find("task_struct")).toBe(3);
    expect(lazySplit.sizeof(s)).toBe(24);
    expect(lazySplit.alignof(s)).toBe(8);
    expect(formatType(lazySplit, s + 3)).toBe("static struct mod_state *mod_lookup(struct task_struct *p, pid_t pid)");
    const value = new Uint8Array(24);
    new DataView(value.buffer).setInt32(8, 42, true);
    expect(decodeValue(lazySplit, s, value)).toEqual({ task: 0n, pid: 42, counts: [0, 0, 0] });
    expect(lazySplit.encode()).toEqual(bytes);

    const top = Btf.split(lazySplit);
    top.add({ kind: "PTR", name: "", type: s });
    top.add({ kind: "TYPEDEF", name: "mod_state_p", type: top.startId });
    const topBytes = top.encode();
    const topLazy = parseBtf(topBytes, { base: lazySplit, lazy: true });
    expectLazyLikeEager(parseBtf(topBytes, { base: lazySplit }), topLazy);
    expect(topLazy.resolveType(topLazy.startId + 1)).toBe(topLazy.type(topLazy.startId));
    expect(topLazy.sizeof(topLazy.startId + 1)).toBe(8);
  });

  test("property: random base/split pairs, any byte orders: lazy on lazy, eager on lazy, lazy on eager agree with eager on eager", () => {
    fc.assert(
      fc.property(splitPairArb, ([bt, st, baseLe, splitLe]) => {
        const baseBytes = new Btf(bt, baseLe).encode();
        const eagerBase = parseBtf(baseBytes);
        const lazyBase = parseBtf(baseBytes, { lazy: true });
        const bytes = Btf.split(eagerBase, st, splitLe).encode();
        expect(Btf.split(lazyBase, st, splitLe).encode()).toEqual(bytes);
        const ref = parseBtf(bytes, { base: eagerBase });
        for (const [base, lazy] of [[lazyBase, true], [lazyBase, false], [eagerBase, true]] as const) {
          const b = parseBtf(bytes, { base, lazy });
          expect(snapshot(b.ownTypes())).toBe(snapshot(ref.ownTypes()));
          for (let id = 0; id < b.count; id++) expect(snapshot(b.type(id))).toBe(snapshot(ref.type(id)));
          for (const [name, ids] of ref.nameIndex()) expect(b.idsByName(name)).toEqual(ids);
          for (let id = b.startId; id < b.count; id++) for (const r of typeRefs(b.type(id))) expect(b.type(r)).toBeDefined();
        }
      }),
      { numRuns: 300 },
    );
  });
});

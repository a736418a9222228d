/**
 * map-in-map.bpf.o on every kernel of the matrix: maps of maps (array and hash) created from their
 * inner-map template and slotted by name from `.values` at load, and a program array whose slots
 * are the object's programs, reached by tail calls (libbpf's `__array(values, …)`).
 */
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { fixture, haveKernel } from "./kernel.js";

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const idOf = (v: Uint8Array | undefined) => (v ? new DataView(v.buffer, v.byteOffset).getUint32(0, true) : undefined);
const packet = () => new Uint8Array(64);

describe.runIf(haveKernel)("map-in-map.bpf.o: initial slots of maps of maps and program arrays", () => {
  it("the outer maps hold the inner maps their .values name, and the program reads through them", () => {
    const spec = openObject(fixture("map-in-map"));
    expect([...spec.map("outer_array").slots!]).toEqual([[0, "inner_a"], [2, "inner_b"]]);
    expect(spec.map("outer_array").inner).toMatchObject({ name: "outer_array.inner", maxEntries: 4, keySize: 4, valueSize: 8 });
    expect([...spec.map("jump").slots!]).toEqual([[0, "leaf_a"], [2, "leaf_b"]]);
    using obj = spec.load();
    const id = (name: string) => obj.map(name).info().id;
    // User space reads a map of maps' slot as the inner map's id.
    expect(idOf(obj.map("outer_array").lookup(u32(0)))).toBe(id("inner_a"));
    expect(obj.map("outer_array").lookup(u32(1))).toBeUndefined();
    expect(idOf(obj.map("outer_array").lookup(u32(2)))).toBe(id("inner_b"));
    expect(idOf(obj.map("outer_hash").lookup(u32(5)))).toBe(id("inner_b"));
    obj.map("inner_a").update(u32(1), u64(7n));
    obj.map("inner_b").update(u32(1), u64(9n));
    expect(obj.program("lookup").testRun({ data: packet() }).retval).toBe(0);
    expect([obj.variable("seen_a").get(), obj.variable("seen_b").get(), obj.variable("missing").get()]).toEqual([7n, 9n, 1]);
  });

  it("a tail call reaches the program its slot holds; an empty slot falls through", () => {
    using obj = openObject(fixture("map-in-map")).load();
    const dispatch = obj.program("dispatch");
    const run = (slot: number) => {
      obj.variable("which").set(slot);
      return dispatch.testRun({ data: packet() }).retval;
    };
    expect([run(0), run(1), run(2)]).toEqual([1, 100, 2]);
  });

  it("loading only some programs leaves the others' slots empty, and says so", () => {
    const warnings: string[] = [];
    using obj = openObject(fixture("map-in-map")).load({ programs: ["dispatch", "leaf_b"], warn: (w) => warnings.push(w) });
    expect(warnings).toEqual(["map 'jump': slot [0] left empty: program 'leaf_a' is not among the programs loaded"]);
    obj.variable("which").set(0);
    expect(obj.program("dispatch").testRun({ data: packet() }).retval).toBe(100);
    obj.variable("which").set(2);
    expect(obj.program("dispatch").testRun({ data: packet() }).retval).toBe(2);
  });
});

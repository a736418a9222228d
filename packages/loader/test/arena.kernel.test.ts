/**
 * arena.bpf.o on every kernel of the matrix: a BPF arena (Linux 6.9) with __arena globals set before
 * load and shared live with the program, and a linked list the program allocates in the arena,
 * walked from JavaScript by the addresses the program stored. Kernels without arenas (or refusing
 * them by policy) report the file unsupported.
 */
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { hasFeature, pageSize } from "@x/sys";
import { requireFeatureForTest } from "../../sys/test/refused.js";
import { fixture, haveKernel } from "./kernel.js";

const ARENA_PAGES = 16;
const MAP_EXTRA = 1n << 44n;

describe.runIf(haveKernel)("arena.bpf.o: arena globals and memory the program allocates", () => {
  // In each test, not in beforeAll: vitest's JSON report drops a beforeAll error's message, so the
  // matrix could not tell "unsupported" from a failure.
  it("maps the arena at map_extra, with the globals where libbpf puts them for this kernel", () => {
    requireFeatureForTest("arena");
    using obj = openObject(fixture("arena")).load();
    const arena = obj.arena!;
    expect(arena.address).toBe(MAP_EXTRA);
    expect(arena.size).toBe(ARENA_PAGES * pageSize());
    // At the end of the arena when ld_imm64 takes offsets over its whole range, else at its start.
    expect(arena.dataOffset).toBe(hasFeature("ldimm64_full_range_off") ? (ARENA_PAGES - 1) * pageSize() : 0);
    expect(obj.variable("arena_counter").get()).toBe(100n);
    expect(obj.variable("arena_tag").get()).toBe("arena");
    // The same bytes, read through the arena at the globals' address.
    const at = arena.address + BigInt(arena.dataOffset);
    expect(arena.view(at, "__u64").get()).toBe(100n);
  });

  it("a value set before load is what the program sees; its writes and ours are shared both ways", () => {
    requireFeatureForTest("arena");
    const spec = openObject(fixture("arena"));
    spec.set("arena_counter", 41);
    using obj = spec.load();
    const grow = obj.program("grow");
    expect(grow.testRun().retval).toBe(0);
    expect(obj.variable("arena_counter").get()).toBe(42n);
    obj.variable("arena_counter").set(1000);
    expect(grow.testRun().retval).toBe(0);
    expect(obj.variable("arena_counter").get()).toBe(1001n);
    expect(obj.variable("allocated").get()).toBe(2n);
  });

  it("the list the program builds in the arena is walked from JavaScript by its pointers", () => {
    requireFeatureForTest("arena");
    using obj = openObject(fixture("arena")).load();
    const grow = obj.program("grow");
    for (let i = 0; i < 3; i++) expect(grow.testRun().retval).toBe(0);
    const arena = obj.arena!;
    const head = obj.variable("arena_head").get() as bigint;
    expect(obj.variable("last_node").get()).toBe(head); // the same pointer, held in .bss
    const values: bigint[] = [];
    for (let p = head; p !== 0n; ) {
      const node = arena.view(p, "struct node").get() as { next: bigint; value: bigint };
      values.push(node.value);
      p = node.next;
    }
    expect(values).toEqual([103n, 102n, 101n]);
    // Every node is a page of its own inside the arena, apart from the globals' page.
    const globalsPage = arena.address + BigInt(arena.dataOffset);
    expect(head % BigInt(pageSize())).toBe(0n);
    expect(head).not.toBe(globalsPage);
    // A write through a view is what the program reads next: it copies the head's value into the new node.
    arena.view(head, "struct node").setField(["value"], 7);
    expect(arena.view(head, "struct node").getField(["value"])).toBe(7n);
    expect(() => arena.view(arena.address + BigInt(arena.size), "struct node")).toThrow(/outside the arena/);
  });
});

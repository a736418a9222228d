/**
 * Legacy map definitions on every kernel of the matrix: libbpf 0.x's `struct bpf_map_def` (one typed
 * through BPF_ANNOTATE_KV_PAIR), and iproute2's `struct bpf_elf_map` with its pinning (tc/globals under
 * the pin root, reused by the next load) and its map-in-map by id (inner_id) and slot (inner_idx).
 */
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { MapFlags, MapType } from "@x/sys/abi";
import { bpffsDir, fixture, haveBpffs, haveKernel } from "./kernel.js";

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64At = (v: Uint8Array | undefined, i = 0) => new DataView(v!.buffer, v!.byteOffset).getBigUint64(i * 8, true);
const packet = (n = 64) => new Uint8Array(n);

describe.runIf(haveKernel)("legacy-maps.bpf.o: struct bpf_map_def (libbpf 0.x)", () => {
  it("creates the maps the definitions declare, typed by BPF_ANNOTATE_KV_PAIR where it is given", () => {
    const spec = openObject(fixture("legacy-maps"));
    expect(spec.map("counts")).toMatchObject({ origin: "legacy", type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 4, flags: 0 });
    expect(spec.map("seen")).toMatchObject({ origin: "legacy", type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 16, flags: MapFlags.BPF_F_NO_PREALLOC });
    expect(spec.map("counts").btfValueTypeId).toBeGreaterThan(0);
    expect(spec.map("seen").btfValueTypeId).toBe(0);
    using obj = spec.load();
    const info = obj.map("counts").info();
    expect(info).toMatchObject({ type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 4 });
    expect(info.btfValueTypeId).toBe(spec.map("counts").btfValueTypeId);
    const prog = obj.program("count");
    prog.testRun({ data: packet(64) });
    prog.testRun({ data: packet(80) });
    prog.testRun({ data: packet(80) });
    // A socket filter's test run sees the packet after its Ethernet header: skb->len is 14 bytes less.
    const c = obj.map("counts").lookup(u32(1));
    expect([u64At(c, 0), u64At(c, 1)]).toEqual([3n, 50n + 66n + 66n]);
    expect(new DataView(obj.map("seen").lookup(u32(66))!.buffer).getUint32(0, true)).toBe(2);
  });
});

describe.runIf(haveKernel)("iproute2-maps.bpf.o: struct bpf_elf_map (iproute2)", () => {
  it.runIf(haveBpffs())("pins PIN_GLOBAL_NS maps at tc/globals/NAME and reuses them; slots the inner map by inner_idx", () => {
    const { dir, remove } = bpffsDir("x-iproute2");
    try {
      const spec = openObject(fixture("iproute2-maps"));
      expect(spec.map("hits").pinAt).toBe("tc/globals/hits");
      expect([...spec.map("outer").slots!]).toEqual([[3, "inner"]]);
      {
        using obj = spec.load({ pinRoot: dir });
        expect(obj.map("hits").pinPath).toBe(`${dir}/tc/globals/hits`);
        obj.map("inner").update(u32(0), u32(77));
        // The program reads inner[0] through outer[3], and counts itself in the pinned map.
        expect(obj.program("cls").testRun({ data: packet() }).retval).toBe(77);
        expect(u64At(obj.map("hits").lookup(u32(0)))).toBe(1n);
      }
      // The next load finds the pinned map and keeps counting in it.
      using again = spec.load({ pinRoot: dir });
      again.program("cls").testRun({ data: packet() });
      expect(u64At(again.map("hits").lookup(u32(0)))).toBe(2n);
      // A new inner map, empty: the program reads 0 through the slot.
      expect(again.program("cls").testRun({ data: packet() }).retval).toBe(0);
    } finally {
      remove();
    }
  });
});

import { describe, expect, it } from "vitest";
import {
  MapFlags,
  MapType,
  MappedMemoryError,
  mapCreate,
  mapFreeze,
  mapLookup,
  mapUpdate,
  mappingCount,
  mmapMap,
  mmapSize,
  pageSize,
} from "@x/sys";
import { haveKernel } from "./kernel.js";

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const key0 = () => u32(0);

function thrown(f: () => unknown): MappedMemoryError {
  try {
    f();
  } catch (e) {
    return e as MappedMemoryError;
  }
  throw new Error("expected a throw");
}

describe("mmapSize", () => {
  it("rounds values to 8 and the total to pages", () => {
    const p = pageSize();
    expect(p).toBeGreaterThanOrEqual(4096);
    expect(mmapSize(4, 1)).toBe(p);
    expect(mmapSize(12, 10)).toBe(p); // 16 * 10
    expect(mmapSize(p, 2)).toBe(2 * p);
    expect(mmapSize(p + 1, 1)).toBe(2 * p);
  });
});

describe.runIf(haveKernel)("mmap of array maps", () => {
  it("writes through mmap are seen by lookup, and updates by the mapping", () => {
    using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 1, flags: MapFlags.BPF_F_MMAPABLE });
    using mem = mmapMap(map, mmapSize(16, 1), { writable: true });
    expect(mem.readonly).toBe(false);
    expect(mem.length).toBe(pageSize());
    mem.setUint32(0, 0x11223344);
    mem.setBigUint64(8, 0x0102030405060708n);
    const v = new Uint8Array(16);
    expect(mapLookup(map, key0(), v)).toBe(true);
    const dv = new DataView(v.buffer);
    expect(dv.getUint32(0, true)).toBe(0x11223344);
    expect(dv.getBigUint64(8, true)).toBe(0x0102030405060708n);

    mapUpdate(map, key0(), new Uint8Array(16).fill(7));
    expect(mem.read(0, 16)).toEqual(new Uint8Array(16).fill(7));
    mem.write(4, new Uint8Array([1, 2, 3]));
    mapLookup(map, key0(), v);
    expect([...v.subarray(0, 8)]).toEqual([7, 7, 7, 7, 1, 2, 3, 7]);
  });

  it("a frozen RDONLY_PROG map maps read-only and refuses JS writes", () => {
    using map = mapCreate({
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 1,
      flags: MapFlags.BPF_F_MMAPABLE | MapFlags.BPF_F_RDONLY_PROG,
    });
    mapUpdate(map, key0(), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    mapFreeze(map);
    using mem = mmapMap(map, mmapSize(8, 1), { writable: true }); // falls back to PROT_READ
    expect(mem.readonly).toBe(true);
    expect(mem.getUint8(7)).toBe(8);
    expect(mem.read(0, 8)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    for (const write of [() => mem.setUint8(0, 1), () => mem.write(0, new Uint8Array(1)), () => mem.fill(0), () => mem.setBigUint64(0, 1n)]) {
      const e = thrown(write);
      expect(e).toBeInstanceOf(MappedMemoryError);
      expect(e.code).toBe("MMAP_READONLY");
      expect(e.message).toMatch(/read-only/);
    }
    expect(mem.getUint8(0)).toBe(1);
  });

  it("accessors check bounds and refuse use after unmap", () => {
    const before = mappingCount();
    using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: MapFlags.BPF_F_MMAPABLE });
    const mem = mmapMap(map, mmapSize(8, 1), { writable: true });
    expect(mappingCount()).toBe(before + 1);
    expect(thrown(() => mem.getUint32(mem.length - 2)).code).toBe("MMAP_OUT_OF_BOUNDS");
    expect(thrown(() => mem.read(-1, 2)).code).toBe("MMAP_OUT_OF_BOUNDS");
    {
      using m = mem;
      m.setUint8(0, 9);
    }
    expect(mem.disposed).toBe(true);
    expect(mappingCount()).toBe(before);
    expect(thrown(() => mem.getUint8(0)).code).toBe("MMAP_DISPOSED");
    expect(thrown(() => mem.read()).code).toBe("MMAP_DISPOSED");
    mem.unmap(); // idempotent
  });

  it("a mapping outlives the map fd", () => {
    const map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: MapFlags.BPF_F_MMAPABLE });
    using mem = mmapMap(map, mmapSize(8, 1), { writable: true });
    map.close();
    mem.setUint32(0, 77);
    expect(mem.getUint32(0)).toBe(77);
  });
});

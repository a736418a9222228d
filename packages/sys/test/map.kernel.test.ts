import { describe, expect, it } from "vitest";
import {
  BpfSyscallError,
  MapFlags,
  MapType,
  fdStats,
  mapCreate,
  mapDelete,
  mapFreeze,
  mapGetNextKey,
  mapInfo,
  mapKeys,
  mapLookup,
  mapUpdate,
  FdClosedError,
} from "@x/sys";
import { haveKernel } from "./kernel.js";

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const readU64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);

describe.runIf(haveKernel)("maps", () => {
  it("array map: update, lookup, next key, delete", () => {
    using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, name: "x_test_array" });
    mapUpdate(map, u32(2), u64(0xdeadbeefcafen));
    const v = new Uint8Array(8);
    expect(mapLookup(map, u32(2), v)).toBe(true);
    expect(readU64(v)).toBe(0xdeadbeefcafen);
    expect(mapLookup(map, u32(9), v)).toBe(false);
    const next = new Uint8Array(4);
    expect(mapGetNextKey(map, null, next)).toBe(true);
    expect(next).toEqual(u32(0));
    expect(mapGetNextKey(map, u32(3), next)).toBe(false);
    expect([...mapKeys(map, 4)].map((k) => k[0])).toEqual([0, 1, 2, 3]);
    // Array elements cannot be deleted.
    expect(() => mapDelete(map, u32(0))).toThrow(BpfSyscallError);
    const info = mapInfo(map);
    expect(info).toMatchObject({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, name: "x_test_array" });
    expect(info.id).toBeGreaterThan(0);
  });

  it("hash map: delete and ENOENT", () => {
    using map = mapCreate({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, flags: MapFlags.BPF_F_NO_PREALLOC });
    mapUpdate(map, u32(7), u64(1n));
    mapUpdate(map, u32(8), u64(2n));
    expect([...mapKeys(map, 4)].length).toBe(2);
    expect(mapDelete(map, u32(7))).toBe(true);
    expect(mapDelete(map, u32(7))).toBe(false);
    expect(() => mapUpdate(map, u32(8), u64(3n), 1 /* BPF_NOEXIST */)).toThrow(/BPF_MAP_UPDATE_ELEM failed: EEXIST/);
  });

  it("freeze, then update fails with EPERM", () => {
    using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    mapUpdate(map, u32(0), u32(5));
    mapFreeze(map);
    let err: unknown;
    try {
      mapUpdate(map, u32(0), u32(6));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfSyscallError);
    const e = err as BpfSyscallError;
    expect(e.code).toBe("BPF_SYSCALL");
    expect(e.command).toBe("BPF_MAP_UPDATE_ELEM");
    expect(e.errno).toBe(1);
    expect(e.errnoName).toBe("EPERM");
    expect(e.message).toBe("BPF_MAP_UPDATE_ELEM failed: EPERM (Operation not permitted)");
  });

  it("create with bad arguments names the command and errno", () => {
    expect(() => mapCreate({ type: MapType.ARRAY, keySize: 8, valueSize: 4, maxEntries: 1 })).toThrow(
      /^BPF_MAP_CREATE failed: EINVAL \(Invalid argument\)/,
    );
  });

  it("handles close on dispose and refuse use after close", () => {
    const before = fdStats().open;
    let escaped: ReturnType<typeof mapCreate> | undefined;
    {
      using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      escaped = map;
      expect(fdStats().open).toBe(before + 1);
      expect(map.fd).toBeGreaterThan(2);
    }
    expect(escaped.closed).toBe(true);
    expect(fdStats().open).toBe(before);
    expect(() => escaped.fd).toThrow(FdClosedError);
    escaped.close(); // idempotent
    expect(() => mapUpdate(escaped, u32(0), u32(1))).toThrow(/used after close/);
  });
});

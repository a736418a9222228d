import { afterEach, describe, expect, it } from "vitest";
import { MapType, mapCreate, mapUpdate } from "@x/sys";
// The accounting hook lives in syscall.ts; import it from there (the package index does not re-export it yet).
import { enableSyscallTiming, resetSyscallStats, syscallStats } from "../src/syscall.js";
import { haveKernel } from "./kernel.js";

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

afterEach(() => {
  enableSyscallTiming(false);
  resetSyscallStats();
});

describe("bpf(2) timing hook", () => {
  it("is off by default and reset zeroes the counters", () => {
    resetSyscallStats();
    expect(syscallStats()).toEqual({ calls: 0, ns: 0n });
  });

  it.runIf(haveKernel)("counts calls and time for a map create and update only while enabled", () => {
    resetSyscallStats();
    {
      using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      mapUpdate(map, u32(0), u32(1));
    }
    expect(syscallStats().calls).toBe(0);

    enableSyscallTiming(true);
    {
      using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      mapUpdate(map, u32(0), u32(7));
    }
    const s = syscallStats();
    expect(s.calls).toBe(2); // BPF_MAP_CREATE + BPF_MAP_UPDATE_ELEM (close(2) is not bpf(2))
    expect(s.ns).toBeGreaterThan(0n);

    enableSyscallTiming(false);
    {
      using map = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      void map;
    }
    expect(syscallStats()).toEqual(s); // off again: counters kept, nothing added
  });
});

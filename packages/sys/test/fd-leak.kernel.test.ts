import { readdirSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import {
  BpfSyscallError,
  MapFlags,
  MapType,
  ProgType,
  btfLoad,
  buildBtf,
  fdStats,
  mapCreate,
  mappingCount,
  mmapMap,
  mmapSize,
  progLoad,
} from "@x/sys";
import { asm } from "@x/reloc";
import { encodeInsns, haveKernel } from "./kernel.js";

const openFds = () => readdirSync("/proc/self/fd").length;

function gc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

describe.runIf(haveKernel)("fd ownership", () => {
  it("1000 failed program loads leave the open fd count unchanged", () => {
    const bad = encodeInsns([asm.exit()]);
    const before = openFds();
    const handles = fdStats().open;
    for (let i = 0; i < 1000; i++) {
      expect(() => progLoad({ type: ProgType.SOCKET_FILTER, insns: bad, license: "GPL" })).toThrow(BpfSyscallError);
    }
    expect(openFds()).toBe(before);
    expect(fdStats().open).toBe(handles);
  });

  it("failed BTF loads and successful loads closed with `using` leave no fd behind", () => {
    const before = openFds();
    const ok = buildBtf([1, 0x01000000, 4, 0x01000020], "\0int");
    const broken = buildBtf([99, 0x01000000, 4, 0x01000020], "\0int");
    for (let i = 0; i < 200; i++) {
      expect(() => btfLoad(broken)).toThrow(BpfSyscallError);
      using b = btfLoad(ok);
      using m = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      using p = progLoad({ type: ProgType.SOCKET_FILTER, insns: encodeInsns([asm.mov64Imm(0, 0), asm.exit()]), license: "GPL" });
      expect(openFds()).toBe(before + 3);
      void [b, m, p];
    }
    expect(openFds()).toBe(before);
  });

  it("the FinalizationRegistry closes leaked handles and unmaps leaked mappings after GC", async () => {
    const collect = gc();
    const before = openFds();
    const stats = fdStats();
    const maps = mappingCount();
    (() => {
      for (let i = 0; i < 20; i++) {
        const m = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: MapFlags.BPF_F_MMAPABLE });
        mmapMap(m, mmapSize(8, 1), { writable: true }).setUint8(0, 1);
      }
    })();
    expect(openFds()).toBe(before + 20);
    // Handles and mappings have separate finalizers: wait for both (slow under emulation).
    for (let i = 0; i < 300 && (fdStats().collected < stats.collected + 20 || mappingCount() > maps); i++) {
      collect();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(fdStats().collected).toBe(stats.collected + 20);
    expect(fdStats().open).toBe(stats.open);
    expect(mappingCount()).toBe(maps);
    expect(openFds()).toBe(before);
  });
});

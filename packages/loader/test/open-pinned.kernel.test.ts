/** Re-opening a pinned map by path sees the same kernel map as the loaded object. */
import { describe, expect, it } from "vitest";
import { LoadError, openObject, openPinnedMap } from "@x/loader";
import { bpffsDir, fixture, haveBpffs, haveKernel } from "./kernel.js";

describe.runIf(haveKernel && haveBpffs())("openPinnedMap", () => {
  it("opens a map pinned by obj.pin() and reads what the program wrote", () => {
    const { dir, remove } = bpffsDir("x-open-pinned");
    try {
      using obj = openObject(fixture("globals")).load({ programs: ["update_state"] });
      obj.pin(dir);
      obj.program("update_state").testRun({ data: new Uint8Array(64) });
      using map = openPinnedMap(`${dir}/maps/globals_data`);
      expect(map.info().id).toBe(obj.map(".data").info().id);
      expect(map.spec.valueSize).toBe(obj.map(".data").spec.valueSize);
      const value = map.lookup(new Uint8Array(4))!;
      const counter = obj.variable("data_counter");
      expect(new DataView(value.buffer).getBigUint64(counter.offset, true)).toBe(counter.get());
    } finally {
      remove();
    }
  });

  it("says what is wrong with a path that holds no map", () => {
    const { dir, remove } = bpffsDir("x-open-pinned");
    try {
      using obj = openObject(fixture("globals")).load({ programs: ["read_custom"] });
      obj.pin(dir);
      expect(() => openPinnedMap(`${dir}/read_custom`)).toThrow(/is pinned but is not a map/);
      const err = (() => { try { openPinnedMap(`${dir}/missing`); } catch (e) { return e; } })() as LoadError;
      expect(err).toBeInstanceOf(LoadError);
      expect(err.errnoName).toBe("ENOENT");
    } finally {
      remove();
    }
  });
});

describe.runIf(haveKernel && haveBpffs())("obj.pin", () => {
  it("is all or nothing: when one pin fails, the pins it made are removed", async () => {
    const { existsSync, mkdirSync } = await import("node:fs");
    const { dir, remove } = bpffsDir("x-pin-partial");
    try {
      using obj = openObject(fixture("globals")).load({ programs: ["read_custom", "update_state"] });
      // A directory where the .bss map's pin should go makes that pin fail with EEXIST.
      mkdirSync(`${dir}/maps/globals_bss`, { recursive: true });
      expect(() => obj.pin(dir)).toThrow(/EEXIST/);
      expect(existsSync(`${dir}/read_custom`)).toBe(false);
      expect(existsSync(`${dir}/maps/globals_data`)).toBe(false);
      expect(obj.map(".data").pinPath).toBeUndefined();
    } finally {
      remove();
    }
  });
});

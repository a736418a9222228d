/**
 * Pinning: `obj.pin(dir)` on a bpffs, read back through BPF_OBJ_GET; maps declared with
 * `__uint(pinning, LIBBPF_PIN_BY_NAME)` are reused by the next load under the same `pinRoot`.
 */
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { MapFd, MapFlags, MapType, mapCreate, mapInfo, mapLookup, objGet, objPin, ProgFd, progInfo, progTestRun } from "@x/sys";
import { bpffsDir, fixture, haveBpffs, haveKernel } from "./kernel.js";

const PACKET = new Uint8Array(64);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function freshDir(prefix: string): string {
  const d = bpffsDir(prefix);
  cleanups.push(d.remove);
  return d.dir;
}

describe.runIf(haveKernel && haveBpffs())("pinning", () => {
  it("obj.pin(dir): the pinned .data map reopened with BPF_OBJ_GET is the same map and shows the live value", () => {
    const dir = freshDir("x-pin");
    using obj = openObject(fixture("globals")).load({ programs: ["update_state"] });
    const pinned = obj.pin(dir);
    expect(pinned.maps["globals.data"]).toBe(`${dir}/maps/globals_data`);
    expect(pinned.programs.update_state).toBe(`${dir}/update_state`);

    obj.program("update_state").testRun({ data: PACKET });
    obj.variable("data_counter").set(777n);

    using map = objGet(`${dir}/maps/globals_data`);
    expect(map).toBeInstanceOf(MapFd);
    expect(mapInfo(map).id).toBe(obj.map(".data").info().id);
    const value = new Uint8Array(obj.map(".data").spec.valueSize);
    expect(mapLookup(map, new Uint8Array(4), value)).toBe(true);
    expect(new DataView(value.buffer).getBigUint64(obj.variable("data_counter").offset, true)).toBe(777n);

    using prog = objGet(`${dir}/update_state`);
    expect(prog).toBeInstanceOf(ProgFd);
    expect(progInfo(prog).id).toBe(obj.program("update_state").info().id);
    // Running the pinned program (by its own fd) changes the object's live variable.
    progTestRun(prog, { data: PACKET });
    expect(obj.variable("data_counter").get()).toBe(778n);
  });

  it("pinned objects outlive dispose(): the pin keeps the map alive", () => {
    const dir = freshDir("x-pin");
    const obj = openObject(fixture("globals")).load({ programs: ["update_state"] });
    obj.pin(dir);
    const id = obj.map(".bss").info().id;
    obj.dispose();
    using map = objGet(`${dir}/maps/globals_bss`);
    expect(mapInfo(map).id).toBe(id);
  });

  it("LIBBPF_PIN_BY_NAME: the map is pinned under pinRoot and reused (same id, same contents) by a second load", () => {
    const root = freshDir("x-pinroot");
    const first = openObject(fixture("pinned")).load({ pinRoot: root });
    expect(existsSync(`${root}/shared_counter`)).toBe(true);
    expect(existsSync(`${root}/private_counter`)).toBe(false);
    expect(first.map("shared_counter").pinPath).toBe(`${root}/shared_counter`);
    const sharedId = first.map("shared_counter").info().id;
    const privateId = first.map("private_counter").info().id;
    expect(first.program("bump").testRun({ data: PACKET }).retval).toBe(1);
    expect(first.program("bump").testRun({ data: PACKET }).retval).toBe(2);
    first.dispose();

    using second = openObject(fixture("pinned")).load({ pinRoot: root });
    expect(second.map("shared_counter").info().id).toBe(sharedId);
    expect(second.map("private_counter").info().id).not.toBe(privateId);
    // The program of the second load increments the counter the first one left at 2.
    expect(second.program("bump").testRun({ data: PACKET }).retval).toBe(3);
    // The kernel agrees about which map the new program uses.
    expect(second.program("bump").info().mapIds).toContain(sharedId);
    using pinned = objGet(`${root}/shared_counter`);
    const v = new Uint8Array(8);
    mapLookup(pinned, new Uint8Array(4), v);
    expect(new DataView(v.buffer).getBigUint64(0, true)).toBe(3n);
  });

  it("LIBBPF_PIN_BY_NAME: an incompatible map pinned at the path is refused with LOAD_MAP", () => {
    const root = freshDir("x-pinroot");
    // Pin a .data map of globals (value size 48) where pinned.bpf.o expects an array of u64.
    using other = openObject(fixture("globals")).load({ programs: ["update_state"] });
    other.map(".data").pin(`${root}/shared_counter`);
    expect(() => openObject(fixture("pinned")).load({ pinRoot: root })).toThrow(
      expect.objectContaining({ code: "LOAD_MAP", location: expect.objectContaining({ map: "shared_counter" }), message: expect.stringMatching(/valueSize 48/) }),
    );
  });

  it("a load that fails after pinning a map by name removes the pin it made (as libbpf does), keeps one it reused", () => {
    const root = freshDir("x-pinroot");
    const spec = openObject(fixture("pinned"));
    expect(spec.program("read_past_value").autoload).toBe(false);
    expect(() => spec.load({ pinRoot: root, programs: ["read_past_value"] })).toThrow(
      expect.objectContaining({ code: "LOAD_PROGRAM", location: expect.objectContaining({ program: "read_past_value" }), log: expect.stringMatching(/invalid access to map value, value_size=8 off=8 size=8/) }),
    );
    expect(existsSync(`${root}/shared_counter`)).toBe(false);

    // A pin made by an earlier, successful load is reused, and a failed load leaves it alone.
    using first = spec.load({ pinRoot: root });
    const id = first.map("shared_counter").info().id;
    expect(() => spec.load({ pinRoot: root, programs: ["bump", "read_past_value"] })).toThrow(expect.objectContaining({ code: "LOAD_PROGRAM" }));
    using pinned = objGet(`${root}/shared_counter`);
    expect(mapInfo(pinned).id).toBe(id);
  });

  it("LIBBPF_PIN_BY_NAME: a pinned map with the same sizes but other flags is not reused", () => {
    const root = freshDir("x-pinroot");
    // Same type, key, value and max_entries as shared_counter, but read-only for programs.
    using m = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: MapFlags.BPF_F_RDONLY_PROG });
    objPin(m, `${root}/shared_counter`);
    expect(() => openObject(fixture("pinned")).load({ pinRoot: root })).toThrow(
      expect.objectContaining({ code: "LOAD_MAP", location: expect.objectContaining({ map: "shared_counter" }), message: expect.stringMatching(/flags/) }),
    );
  });
});

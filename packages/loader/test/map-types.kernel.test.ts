/** Maps from `.maps` of every common type are created as declared (or as adjusted before load), and work. */
import { describe, expect, it } from "vitest";
import { mapTypeName, openObject } from "@x/loader";
import { pageSize } from "@x/sys";
import { fixture, haveKernel } from "./kernel.js";

describe.runIf(haveKernel)(".maps map types", () => {
  it("percpu array, LRU hash, ring buffer and program array load and are used by the program", () => {
    const spec = openObject(fixture("maps"));
    spec.map("recent").maxEntries = 32; // adjustable before load
    using obj = spec.load();
    const kinds = Object.fromEntries([...obj.maps.values()].map((m) => {
      const info = m.info();
      return [m.name, { type: mapTypeName(info.type), key: info.keySize, value: info.valueSize, max: info.maxEntries }];
    }));
    expect(kinds).toMatchObject({
      per_cpu: { type: "percpu_array", key: 4, value: 8, max: 2 },
      recent: { type: "lru_hash", key: 4, value: 8, max: 32 },
      events: { type: "ringbuf", key: 0, value: 0, max: 4096 },
      jumps: { type: "prog_array", key: 4, value: 4, max: 4 },
    });

    expect(obj.program("use_maps").testRun({ data: new Uint8Array(64) }).retval).toBe(7);
    // The LRU hash got the packet length as a key; the ring buffer took one record.
    const key = new Uint8Array(new Uint32Array([64]).buffer);
    expect(obj.map("recent").lookup(key)).toBeDefined();
    expect(obj.variable("submitted").get()).toBe(1n);

    // Per-CPU values come back as one 8-byte slot per possible CPU; the run bumped exactly one of them.
    const perCpu = obj.map("per_cpu");
    const cpus = perCpu.userValueSize / 8;
    expect(cpus).toBeGreaterThanOrEqual(1);
    const slots = new BigUint64Array(perCpu.lookup(new Uint8Array(4))!.buffer);
    expect(slots.length).toBe(cpus);
    expect(slots.reduce((a, b) => a + b, 0n)).toBe(1n);
    // A value of the wrong size is refused before the kernel reads past it.
    expect(() => perCpu.update(new Uint8Array(4), new Uint8Array(perCpu.userValueSize + 8))).toThrow(/value must be/);
  });

  it("a ring buffer's size is rounded up to a power-of-2 number of pages, as libbpf does; 0 stays the kernel's error", () => {
    const page = pageSize();
    for (const [declared, created] of [[1000, page], [page * 3, page * 4], [page * 2, page * 2]]) {
      const spec = openObject(fixture("maps"));
      spec.map("events").maxEntries = declared!;
      using obj = spec.load();
      expect(obj.map("events").info().maxEntries, `declared ${declared}`).toBe(created);
      expect(obj.program("use_maps").testRun({ data: new Uint8Array(64) }).retval).toBe(7);
    }
    const zero = openObject(fixture("maps"));
    zero.map("events").maxEntries = 0;
    expect(() => zero.load()).toThrow(expect.objectContaining({ code: "LOAD_MAP", errnoName: "EINVAL" }));
  });
});

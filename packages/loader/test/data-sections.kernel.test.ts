/**
 * big.bpf.o (an 8 KiB `.bss` array over two pages, atomics) and sections.bpf.o (custom
 * `.data.*`, `.rodata.*` and `.bss.*` sections, which Debian's libbpf 1.1 cannot load) through the
 * kernel: program runs, mmap'd variables and BPF_MAP_LOOKUP_ELEM must all agree.
 */
import { describe, expect, it } from "vitest";
import { type LoadedObject, openObject } from "@x/loader";
import { MapFlags, mapInfo, pageSize } from "@x/sys";
import { fixture, haveKernel, kernelValue } from "./kernel.js";

const PACKET = new Uint8Array(64);
const run = (obj: LoadedObject, prog: string) => obj.program(prog).testRun({ data: PACKET }).retval;

describe.runIf(haveKernel)("big.bpf.o: an 8 KiB global and atomics", () => {
  it("the .bss map is 8 KiB + 8 bytes, mmap'd, and spans more than one page", () => {
    using obj = openObject(fixture("big")).load();
    const bss = obj.map(".bss");
    const info = mapInfo(bss.fd);
    expect(info.valueSize).toBe(1024 * 8 + 8);
    expect(info.flags & MapFlags.BPF_F_MMAPABLE).toBe(MapFlags.BPF_F_MMAPABLE);
    expect(bss.access).toBe("mmap");
    expect(info.valueSize).toBeGreaterThan(pageSize());
  });

  it("program writes at both ends (big[0], big[1023]) and the atomic add are seen by JS", () => {
    using obj = openObject(fixture("big")).load();
    // touch_ends: big[0] += 1; big[1023] += stride (1); atomic_counter += 5; returns big[0] + big[1023]
    expect(run(obj, "touch_ends")).toBe(2);
    expect(run(obj, "touch_ends")).toBe(4);
    const big = obj.variable("big").get() as bigint[];
    expect(big.length).toBe(1024);
    expect([big[0], big[1], big[1022], big[1023]]).toEqual([2n, 0n, 0n, 2n]);
    expect(obj.variable("atomic_counter").get()).toBe(10n);
    // Agrees with the kernel's copy read by syscall, at both ends of the value.
    const k = kernelValue(obj, ".bss");
    expect(k.getBigUint64(obj.variable("big").offset, true)).toBe(2n);
    expect(k.getBigUint64(obj.variable("big").offset + 1023 * 8, true)).toBe(2n);
    expect(k.getBigUint64(obj.variable("atomic_counter").offset, true)).toBe(10n);
  });

  it("JS writes at both ends are seen by read_ends and by the atomics", () => {
    using obj = openObject(fixture("big")).load();
    const big = obj.variable("big");
    const values = new Array<bigint>(1024).fill(0n);
    values[0] = 7n;
    values[1023] = 123n;
    big.set(values);
    // read_ends: big[0] * 1000 + big[1023]
    expect(run(obj, "read_ends")).toBe(7 * 1000 + 123);
    obj.variable("atomic_counter").set(1000n);
    run(obj, "touch_ends");
    expect(obj.variable("atomic_counter").get()).toBe(1005n);
    expect(run(obj, "read_ends")).toBe(8 * 1000 + 124);
  });

  it("stride set before load (.rodata) changes what touch_ends adds at the far end", () => {
    const spec = openObject(fixture("big"));
    spec.set("stride", 50);
    using obj = spec.load();
    run(obj, "touch_ends");
    expect(run(obj, "read_ends")).toBe(1 * 1000 + 50);
  });
});

describe.runIf(haveKernel)("sections.bpf.o: custom .data.*, .rodata.*, .bss.* sections", () => {
  it("each custom section is its own map, named after the section, with libbpf's flags", () => {
    using obj = openObject(fixture("sections")).load();
    const byName = new Map([...obj.maps.values()].map((m) => [mapInfo(m.fd).name, mapInfo(m.fd)]));
    expect([...byName.keys()].sort()).toEqual([".bss.scratch", ".data.first", ".data.second", ".rodata.tuning", "sections.bss"].sort());
    expect(byName.get(".rodata.tuning")!.flags & MapFlags.BPF_F_RDONLY_PROG).toBeTruthy();
    expect(byName.get(".bss.scratch")!.flags & MapFlags.BPF_F_RDONLY_PROG).toBe(0);
    expect(byName.get(".bss.scratch")!.valueSize).toBe(8);
  });

  it("loads and computes the expected sum from the compiled-in values", () => {
    using obj = openObject(fixture("sections")).load();
    // scratch = 0 + 4; plain_bss = 1; second_data[1] = 3 + 1 → 1 + 2 + 4 + 4 + 4
    expect(run(obj, "sum_sections")).toBe(1 + 2 + 4 + 4 + 4);
    expect(obj.variable("scratch").get()).toBe(4n);
    expect(obj.variable("plain_bss").get()).toBe(1);
    expect(obj.variable("second_data").get()).toEqual([2n, 4n]);
    expect(kernelValue(obj, ".bss.scratch").getBigUint64(0, true)).toBe(4n);
    expect(kernelValue(obj, ".data.second").getBigUint64(8, true)).toBe(4n);
  });

  it("values set before load in each custom section are used", () => {
    const spec = openObject(fixture("sections"));
    spec.set("first_data", 100);
    spec.set("second_data", [1000n, 20000n]);
    spec.set("tuning", 3);
    spec.set("scratch", 500000n);
    using obj = spec.load();
    // scratch = 500000 + 3; second_data[1] = 20000 + 100
    expect(run(obj, "sum_sections")).toBe(100 + 1000 + 20100 + 3 + 500003);
    expect(obj.variable("scratch").get()).toBe(500003n);
    // JS writes after load into .bss.* and .data.* reach the next run.
    obj.variable("scratch").set(0n);
    obj.variable("first_data").set(0);
    expect(run(obj, "sum_sections")).toBe(0 + 1000 + 20100 + 3 + 3);
  });
});

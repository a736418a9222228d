/**
 * Data sections user space cannot map (only static variables, as libbpf decides; or kernels before 5.5)
 * are reached through BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM: the same variable API, checked through the kernel.
 */
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { fixture, haveKernel } from "./kernel.js";

const PACKET = new Uint8Array(64);

describe.runIf(haveKernel)("variables without mmap (map syscalls)", () => {
  it("reads what the program wrote and writes what the next run sees", () => {
    const spec = openObject(fixture("statics"));
    expect(spec.map(".data.statics").mmapable).toBe(false);
    spec.set("hits", 10);
    using obj = spec.load();
    const map = obj.map(".data.statics");
    expect(map.access).toBe("syscall");
    expect(map.info().flags & (1 << 10)).toBe(0); // no BPF_F_MMAPABLE

    expect(obj.program("count").testRun({ data: PACKET }).retval).toBe(11);
    expect(obj.variable("hits").get()).toBe(11);
    expect(obj.variable("last_len").get()).toBe(64n);

    obj.variable("hits").set(100);
    expect(obj.program("count").testRun({ data: PACKET }).retval).toBe(101);
    // The write went through the kernel: an independent lookup of the map value sees it.
    const value = map.lookup(new Uint8Array(4))!;
    expect(new DataView(value.buffer).getUint32(obj.variable("hits").offset, true)).toBe(101);
  });
});

/**
 * loose-sections.bpf.o on every kernel of the matrix: what libbpf 1.x refuses but older loaders and
 * cilium/ebpf load, loaded as they load it: a suffix after an exact section name (socket/1, xdp/pass)
 * and a static function as the program of its own section.
 */
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { ProgType } from "@x/sys/abi";
import { fixture, haveKernel } from "./kernel.js";

describe.runIf(haveKernel)("loose-sections.bpf.o: section names and static programs of older loaders", () => {
  it("types the programs by the exact name before the suffix, and runs the static one", () => {
    const spec = openObject(fixture("loose-sections"));
    expect(spec.program("count_static").kind).toMatchObject({ progType: ProgType.SOCKET_FILTER, loose: true });
    expect(spec.program("pass").kind).toMatchObject({ progType: ProgType.XDP, loose: true });
    using obj = spec.load();
    expect(obj.program("count_static").testRun({ data: new Uint8Array(64) }).retval).toBe(7);
    expect(obj.program("pass").testRun({ data: new Uint8Array(64) }).retval).toBe(2); // XDP_PASS
    expect(obj.variable("runs").get()).toBe(11);
    expect(obj.program("count_static").info()).toMatchObject({ name: "count_static", type: ProgType.SOCKET_FILTER });
  });
});

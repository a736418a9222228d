/**
 * Callbacks on every kernel of the matrix: a static function whose address a program passes to a
 * helper (bpf_for_each_map_elem, bpf_loop) is linked into the program and called back by the kernel.
 * A kernel without the helper is a cell marked unsupported, named from the verifier's own words.
 */
import { describe, expect, it } from "vitest";
import { type LoadedObject, openObject } from "@x/loader";
import { UnsupportedFeatureError } from "@x/sys";
import { fixture, haveKernel } from "./kernel.js";

const HELPERS: Readonly<Record<string, { id: number; since: string }>> = {
  bpf_for_each_map_elem: { id: 164, since: "5.13" },
  bpf_loop: { id: 181, since: "5.17" },
};

/** Load one program; a verifier that does not know its helper means the kernel lacks it. */
function load(program: string, helper: string): LoadedObject {
  try {
    return openObject(fixture("callbacks")).load({ programs: [program] });
  } catch (e) {
    const log = (e as { log?: string }).log ?? "";
    const h = HELPERS[helper]!;
    if (new RegExp(`invalid func unknown#${h.id}\\b|unknown func ${helper}#`).test(log)) {
      throw new UnsupportedFeatureError(helper, h.since, `helper ${helper} (callbacks)`);
    }
    throw e;
  }
}

describe.runIf(haveKernel)("callbacks", () => {
  it("bpf_for_each_map_elem calls the program's static function once per element", () => {
    using obj = load("sum_values", "bpf_for_each_map_elem");
    const values = obj.map("values");
    for (const [k, v] of [[0, 5n], [1, 7n], [3, 30n]] as const) values.update(new Uint8Array(new Uint32Array([k]).buffer), new Uint8Array(new BigUint64Array([v]).buffer));
    expect(obj.program("sum_values").testRun({ data: new Uint8Array(64) }).retval).toBe(4); // elements visited
    expect(obj.variable("sum").get()).toBe(42n);
  });

  it("bpf_loop calls it back with each index", () => {
    using obj = load("loop", "bpf_loop");
    expect(obj.program("loop").testRun({ data: new Uint8Array(64) }).retval).toBe(10);
    expect(obj.variable("calls").get()).toBe(45); // 0 + 1 + … + 9
  });
});

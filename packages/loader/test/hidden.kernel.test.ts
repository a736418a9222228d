/** Hidden global subprograms are verified as static functions, as libbpf arranges through BTF linkage. */
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { fixture, haveKernel } from "./kernel.js";

describe.runIf(haveKernel)("hidden global subprograms", () => {
  it("load: the verifier accepts a pointer dereference it would refuse in a global function", () => {
    const spec = openObject(fixture("hidden"));
    expect(spec.subprograms.find((f) => f.name === "read_through")).toMatchObject({ global: true, hidden: true });
    // The object's own BTF still says global: only what the kernel gets is changed.
    const func = spec.btf!.types.find((t) => t.kind === "FUNC" && t.name === "read_through");
    expect(func).toMatchObject({ linkage: "global" });
    using obj = spec.load();
    expect(obj.program("call_hidden").testRun({ data: new Uint8Array(64) }).retval).toBe(42);
  });
});

/** The template workflow: one spec, loaded, changed and loaded again; each load gets the values set before it. */
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { fixture, haveKernel } from "./kernel.js";

describe.runIf(haveKernel)("reloading a spec", () => {
  it("uses the values set before each load, and both loads have the same program", () => {
    const spec = openObject(fixture("globals"));
    spec.set("cfg_mode", "MODE_ON");
    const tags: string[] = [];
    for (const value of [111, 222]) {
      spec.set("cfg_u32", value);
      using obj = spec.load({ programs: ["read_config"] });
      expect(obj.program("read_config").testRun({ data: new Uint8Array(64) }).retval).toBe(value);
      tags.push(obj.program("read_config").info().tag);
    }
    // Same instructions (the map fds differ, and the tag is computed with them masked).
    expect(tags[1]).toBe(tags[0]);
  });
});

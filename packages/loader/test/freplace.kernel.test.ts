/**
 * Programs loaded against another BPF program: freplace (a new body for a global function of a loaded
 * program) and fexit on a BPF program's function, with the target given by fd, id or pinned path, on
 * every kernel of the matrix; and the refusals that name what is missing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { rawTracepointOpen } from "@x/sys";
import { requireProgTypeForTest } from "../../sys/test/refused.js";
import { fixture, haveKernel } from "./kernel.js";

const run = (obj: { program(name: string): { testRun(o: { data: Uint8Array }): { retval: number } } }) => obj.program("classify").testRun({ data: new Uint8Array(64) }).retval;

describe.runIf(haveKernel)("programs loaded against another BPF program", () => {
  it("freplace: the new get_verdict() answers for the target while linked, with live state of its own", () => {
    requireProgTypeForTest("EXT");
    using target = openObject(fixture("freplace-target")).load();
    expect(run(target)).toBe(1);
    using ext = openObject(fixture("freplace")).load({ programs: ["new_get_verdict"], programOptions: { new_get_verdict: { attachTarget: { program: target.program("classify").fd } } } });
    const link = rawTracepointOpen(ext.program("new_get_verdict").fd);
    expect(run(target)).toBe(7);
    ext.variable("verdict").set(9);
    expect(run(target)).toBe(9);
    expect(ext.variable("replaced_calls").get()).toBe(2n);
    link.close();
    expect(run(target)).toBe(1);
  });

  it("fexit on a BPF program's function: the target by id, then by pinned path", () => {
    requireProgTypeForTest("TRACING");
    using target = openObject(fixture("freplace-target")).load();
    const dir = mkdtempSync("/sys/fs/bpf/xbpf-freplace-");
    try {
      target.program("classify").pin(join(dir, "classify"));
      for (const program of [target.program("classify").info().id, join(dir, "classify")]) {
        using obj = openObject(fixture("freplace")).load({ programs: ["watch_verdict"], programOptions: { watch_verdict: { attachTarget: { program } } } });
        using link = rawTracepointOpen(obj.program("watch_verdict").fd);
        expect(run(target)).toBe(1);
        expect(obj.variable("traced_calls").get()).toBe(1n);
        expect(obj.variable("last_ret").get()).toBe(1);
        void link;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a freplace program without a target, a function the target lacks, and a pinned map as the target", () => {
    expect(() => openObject(fixture("freplace")).load({ programs: ["new_get_verdict"] })).toThrow(expect.objectContaining({
      code: "OBJECT_BAD_ATTACH_TARGET",
      message: expect.stringMatching(/program 'new_get_verdict' \(freplace\/get_verdict\) replaces a function of another BPF program: give that program as its attachTarget/),
    }));
    using target = openObject(fixture("freplace-target")).load();
    const fd = target.program("classify").fd;
    expect(() => openObject(fixture("freplace")).load({ programs: ["new_get_verdict"], programOptions: { new_get_verdict: { attachTarget: { program: fd, function: "no_such" } } } })).toThrow(expect.objectContaining({
      code: "OBJECT_BAD_ATTACH_TARGET",
      message: expect.stringMatching(/the target program has no function 'no_such' \(its functions: .*get_verdict/),
    }));
    using withMaps = openObject(fixture("globals")).load();
    const dir = mkdtempSync("/sys/fs/bpf/xbpf-freplace-");
    try {
      const map = join(dir, "map");
      withMaps.maps.values().next().value!.pin(map);
      expect(() => openObject(fixture("freplace")).load({ programs: ["new_get_verdict"], programOptions: { new_get_verdict: { attachTarget: { program: map } } } })).toThrow(/is pinned, but holds a map, not a program/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * `xbpf test` on every kernel of the matrix: annotated programs loaded and run for real, their
 * expectations met (exit 0), and wrong expectations reported with why and the verifier log (exit 1).
 */
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { fixture, haveKernel } from "../../loader/test/kernel.js";
import { xbpf } from "./xbpf.js";

describe.runIf(haveKernel)("xbpf test", () => {
  it("passes every annotated program of annotated.bpf.o: results, refusals with their messages, a log level", async () => {
    const r = await xbpf("test", fixture("annotated"), "--json");
    expect(r.code, r.out + r.err).toBe(0);
    const j = r.json();
    expect(j).toMatchObject({ passed: 5, failed: 0, skipped: 0 });
    expect(j.objects[0].results.map((t: { name: string; status: string }) => [t.name, t.status])).toEqual([
      ["returns_seven", "pass"],
      ["a constant of .rodata is what the program returns", "pass"],
      ["exits_without_r0", "pass"],
      ["reads_past_value", "pass"],
      ["log level 2 shows every instruction", "pass"],
    ]);
  });

  it("reports each wrong expectation with its reason and the log around it, and exits 1", async () => {
    const r = await xbpf("test", fixture("annotated-wrong"));
    expect(r.code).toBe(1);
    expect(r.out).toContain("FAIL  ");
    expect(r.out).toMatch(/loads_fine: unexpected load success/);
    expect(r.out).toMatch(/returns_zero: retval 0, expected 1/);
    expect(r.out).toMatch(/log_lacks_message: verifier log: expected text 'no such words in any log' not found\n {6}\| /);
    expect(r.out).toMatch(/\| processed \d+ insns/);
    expect(r.out.trimEnd().split("\n").at(-1)).toBe("tests: 0 passed, 3 failed, 0 skipped");
    const f = await xbpf("test", fixture("annotated-wrong"), "--filter", "returns_*", "--json");
    expect(f.code).toBe(1);
    expect(f.json()).toMatchObject({ passed: 0, failed: 1, skipped: 0 });
  });

  it("an object without annotations has no tests; no object at all is a usage error", async () => {
    const r = await xbpf("test", fixture("globals"));
    expect(r.code).toBe(0);
    expect(r.out).toContain("no annotated programs");
    expect((await xbpf("test")).code).toBe(2);
  });
});

describe.runIf(haveKernel)("per-program load options", () => {
  it("a program's own log level keeps its verifier log; its flags reach the kernel", () => {
    using obj = openObject(fixture("annotated")).load({ programs: ["returns_seven", "passes"], programOptions: { passes: { logLevel: 2, flags: 1 << 0 /* BPF_F_STRICT_ALIGNMENT */ } } });
    expect(obj.program("returns_seven").log).toBeUndefined();
    expect(obj.program("passes").log).toMatch(/processed \d+ insns/);
    expect(obj.program("passes").testRun({ data: new Uint8Array(64) }).retval).toBe(2);
    // A flag no kernel knows is refused: the flags are passed, not dropped.
    expect(() => openObject(fixture("annotated")).load({ programs: ["passes"], programOptions: { passes: { flags: 1 << 30 } } })).toThrow(expect.objectContaining({ code: "LOAD_PROGRAM", errnoName: "EINVAL", location: expect.objectContaining({ program: "passes" }) }));
  });
});

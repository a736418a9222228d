/**
 * Test annotations read from a clang-built object's BTF (the tags of the selftests' bpf_misc.h), the
 * verifier-log pattern matcher, and the runner's decisions (what to load, skip, fail) with a loader
 * that answers from a table: no kernel.
 */
import { describe, expect, it } from "vitest";
import { matchPatterns, objectTestSpecs, openObject, POINTER_VALUE, runTests, type TestLoadRequest, type TestLoadResult, testPattern } from "@x/loader/open";
import { fixture } from "./fixtures.js";

const specsOf = (name: string) => {
  const obj = openObject(fixture(name));
  return objectTestSpecs(obj.btf!, obj.programs.map((p) => p.name));
};

describe("test annotations", () => {
  it("reads each program's expectations from its FUNC's decl tags", () => {
    const specs = specsOf("annotated");
    expect(specs.map((s) => s.program)).toEqual(["returns_seven", "returns_rodata", "exits_without_r0", "reads_past_value", "passes"]);
    const [seven, rodata, noR0, oob, passes] = specs;
    expect(seven!.priv).toMatchObject({ name: "returns_seven", expectFailure: false, retval: 7, messages: [] });
    expect(seven!.unpriv).toBeUndefined();
    expect(rodata!.priv!.name).toBe("a constant of .rodata is what the program returns");
    expect(noR0!.priv).toMatchObject({ expectFailure: true, messages: [{ text: "R0 !read_ok" }] });
    // __msg keeps source order even though each tag's counter makes them distinct names.
    expect(oob!.priv!.messages.map((m) => m.text)).toEqual(["invalid access to map value", "value_size=8 off=8 size=8"]);
    expect(passes).toMatchObject({ logLevel: 2, problems: [], flags: { set: 0, clear: 0 } });
    expect(passes!.priv!.messages[0]!.regex!.source).toBe("[0-9]+: \\(b7\\) r0 = 2");
  });

  it("matches patterns in order, each after the previous one; {{…}} parts are regular expressions", () => {
    const log = "0: (b7) r0 = 0\n1: (95) exit\nprocessed 2 insns (limit 1000000)\n";
    expect(matchPatterns(log, [testPattern("(b7) r0 = 0"), testPattern("processed {{[0-9]+}} insns")])).toEqual({ ok: true });
    expect(matchPatterns(log, [testPattern("exit"), testPattern("r0 = 0")])).toMatchObject({ ok: false, index: 1, why: "expected text 'r0 = 0' not found after 'exit'" });
    expect(matchPatterns(log, [testPattern("{{^1: }}")])).toEqual({ ok: true });
    expect(matchPatterns(log, [testPattern("{{[[:digit:]]+}}: (95)")])).toEqual({ ok: true });
    expect(() => testPattern("{{open")).toThrow("Regexp has open '{{' but no closing '}}'");
  });

  it("runs each test through the loader it is given: its programs, log level, flags, and the checks", async () => {
    const requests: TestLoadRequest[] = [];
    const answers: Record<string, TestLoadResult> = {
      returns_seven: { loaded: true, log: "", retval: 7 },
      returns_rodata: { loaded: true, log: "", retval: 4 },
      exits_without_r0: { loaded: false, log: "0: (95) exit\nR0 !read_ok\n", error: "refused" },
      reads_past_value: { loaded: true, log: "" },
      passes: { loaded: true, log: "0: (b7) r0 = 2\n1: (95) exit\nprocessed 2 insns\n", retval: POINTER_VALUE },
    };
    const results = await runTests(specsOf("annotated"), (r) => (requests.push(r), answers[r.target]!), { arch: "X86_64", testFlags: 4 });
    expect(results.map((r) => [r.program, r.status, r.reason])).toEqual([
      ["returns_seven", "pass", undefined],
      ["returns_rodata", "fail", "retval 4, expected 3"],
      ["exits_without_r0", "pass", undefined],
      ["reads_past_value", "fail", "unexpected load success"],
      ["passes", "fail", "retval -889304559, expected 2"],
    ]);
    expect(requests.find((r) => r.target === "passes")).toEqual({ target: "passes", programs: ["passes"], logLevel: 2, flags: 4, btfPath: undefined, run: true });
    // A test expected to fail is never run.
    expect(requests.find((r) => r.target === "exits_without_r0")!.run).toBe(false);
  });

  it("filters by name or program, and skips what cannot run here with the reason", async () => {
    const load = (): TestLoadResult => ({ loaded: true, log: "", retval: 7 });
    const only = await runTests(specsOf("annotated"), load, { arch: "X86_64", testFlags: 0, filter: "returns_s*" });
    expect(only.map((r) => r.program)).toEqual(["returns_seven"]);
    const byName = await runTests(specsOf("annotated"), load, { arch: "X86_64", testFlags: 0, filter: "a constant of *" });
    expect(byName.map((r) => r.program)).toEqual(["returns_rodata"]);
  });
});

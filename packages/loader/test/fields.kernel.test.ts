// Fields set one at a time before load are what the program computes with (BPF_PROG_TEST_RUN).
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { fixture, haveKernel } from "./kernel.js";

// read_settings returns mode + level*10 + (flags & 0xff)*100 + rules[2].port*1000 + limit.
const result = (s: { mode: number; level: number; flags: number; port: number; limit: number }) =>
  s.mode + s.level * 10 + (s.flags & 0xff) * 100 + s.port * 1000 + s.limit;

describe.runIf(haveKernel)("fields.bpf.o", () => {
  it("the program sees the fields set by path, and their untouched neighbours", () => {
    const spec = openObject(fixture("fields"));
    using before = spec.load();
    expect(before.program("read_settings").testRun({ data: new Uint8Array(64) }).retval).toBe(result({ mode: 1, level: 2, flags: 0xabcdef, port: 53, limit: 100 }));
    spec.set("settings.mode", 5);
    spec.set("settings.level", 7);
    spec.set("settings.rules[2].port", 99);
    spec.set("settings.limit", 3);
    using after = spec.load();
    expect(after.program("read_settings").testRun({ data: new Uint8Array(64) }).retval).toBe(result({ mode: 5, level: 7, flags: 0xabcdef, port: 99, limit: 3 }));
    expect(after.variable("settings").get()).toMatchObject({ scratch: 0n, flags: 0xabcdef });
  });
});

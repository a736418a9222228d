/**
 * xbpf without the kernel: exit codes (0 ok, 1 failure, 2 usage), `--json` that parses, and
 * `patch` refusing what cannot be patched without writing anything.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixture } from "../../loader/test/fixtures.js";
import { xbpf } from "./xbpf.js";

const tmp = mkdtempSync(join(tmpdir(), "xbpf-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("usage errors exit 2 with the usage line", () => {
  const cases: [string, string[]][] = [
    ["no command", []],
    ["unknown command", ["frobnicate"]],
    ["inspect without an object", ["inspect"]],
    ["inspect with two objects", ["inspect", fixture("globals"), fixture("big")]],
    ["patch without -o", ["patch", fixture("example"), "--set", "cfg.blocked_port=1"]],
    ["patch without --set", ["patch", fixture("example"), "-o", join(tmp, "x.o")]],
    ["patch with a --set that is not NAME=VALUE", ["patch", fixture("example"), "--set", "label", "-o", join(tmp, "x.o")]],
    ["patch with an unknown option", ["patch", fixture("example"), "--frob", "-o", join(tmp, "x.o")]],
    ["run without a program", ["run", fixture("example")]],
    ["run with bad --data hex", ["run", fixture("example"), "classify", "--data", "xyz"]],
    ["probe with an argument", ["probe", "extra"]],
  ];
  for (const [what, argv] of cases) {
    it(what, async () => {
      const r = await xbpf(...argv);
      expect(r.code, r.err).toBe(2);
      expect(r.err + r.out).toMatch(/usage: xbpf/);
    });
  }

  it("--help exits 0", async () => {
    expect((await xbpf("--help")).code).toBe(0);
    const r = await xbpf("patch", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: xbpf patch OBJ/);
  });
});

describe("xbpf patch refusals exit 1 with a clear message and write nothing", () => {
  const out = join(tmp, "refused.bpf.o");
  const refusals: [string, string, RegExp][] = [
    ["a .bss variable", "bytes_total=5", /'bytes_total' is in \.bss, which holds no bytes in the object file/],
    ["an unknown variable", "no_such_var=1", /no global variable 'no_such_var' in example/],
    ["an unknown struct field", "cfg.no_such_field=1", /has no field 'no_such_field'.*blocked_port/],
    ["an out-of-range value", "cfg.blocked_port=70000", /out of range/],
    ["a non-number", "cfg.max_len=lots", /not an integer/],
  ];
  for (const [what, set, message] of refusals) {
    it(what, async () => {
      const r = await xbpf("patch", fixture("example"), "--set", set, "-o", out);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(message);
      expect(existsSync(out)).toBe(false);
      // With --json the error is a JSON object on stdout, with the stable code.
      const j = await xbpf("patch", fixture("example"), "--set", set, "-o", out, "--json");
      expect(j.code).toBe(1);
      expect(j.json().error.message).toMatch(message);
      expect(j.json().error.code).toMatch(/^(OBJECT|BTF)_/);
    });
  }

  it("a file that is not an ELF object is a failure (1), not a usage error", async () => {
    const r = await xbpf("inspect", "/etc/hostname");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/xbpf inspect: /);
  });
});

describe("--json output parses", () => {
  for (const name of ["globals", "big", "sk_lookup", "sections", "example", "reject", "pinned"]) {
    it(`inspect --json ${name}.bpf.o`, async () => {
      const r = await xbpf("inspect", fixture(name), "--json");
      expect(r.code).toBe(0);
      const d = r.json();
      expect(d.name).toBe(name);
      expect(d.programs.length).toBeGreaterThan(0);
    });
  }

  it("patch --json lists the changes", async () => {
    const r = await xbpf("patch", fixture("example"), "--set", "cfg.blocked_port=8080", "--set", "label=x", "-o", join(tmp, "example.bpf.o"), "--json");
    expect(r.code).toBe(0);
    expect(r.json().changed.map((c: { name: string; section: string }) => [c.name, c.section])).toEqual([["cfg.blocked_port", ".rodata"], ["label", ".rodata"]]);
  });
});

/**
 * xbpf without the kernel: exit codes (0 ok, 1 failure, 2 usage), `--json` that parses, and
 * `patch` refusing what cannot be patched without writing anything.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ElfFile } from "@x/elf";
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
      expect(j.json().error.location).toMatchObject({ object: "example" });
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

describe("errors carry their location, as JSON and as an at: line", () => {
  /** A copy of a fixture with some bytes changed (at file offsets), written as `name`.bpf.o. */
  const crafted = (name: string, from: string, edit: (bytes: Uint8Array, elf: ElfFile) => Uint8Array) => {
    const bytes = new Uint8Array(readFileSync(fixture(from)));
    const path = join(tmp, `${name}.bpf.o`);
    writeFileSync(path, edit(bytes, ElfFile.parse(bytes.slice())));
    return path;
  };

  it("an ElfError (a truncated object): code, offset and the object", async () => {
    const path = crafted("truncated", "example", (b) => b.subarray(0, 1000));
    const j = await xbpf("inspect", path, "--json");
    expect(j.code).toBe(1);
    const e = j.json().error;
    expect(e).toMatchObject({ code: "ELF_TRUNCATED", location: { object: "truncated", offset: 0x28 } });
    expect(e.message).toMatch(/past the end of the file \(1000 bytes\)/);
    // The message already says the offset; the at: line adds only the object.
    const r = await xbpf("inspect", path);
    expect(r.err).toMatch(/^xbpf inspect: e_shoff: .*\nat: object truncated$/);
    expect(r.err).not.toMatch(/\n\s+at .*\.(ts|js):\d+/); // never a stack trace
  });

  it("a BtfError (bad .BTF magic): the section and the offset inside it", async () => {
    const path = crafted("badbtf", "globals", (b, elf) => {
      const at = elf.section(".BTF")!.offset;
      b[at] = 0;
      b[at + 1] = 0;
      return b;
    });
    const e = (await xbpf("inspect", path, "--json")).json().error;
    expect(e).toMatchObject({ code: "BTF_BAD_MAGIC", location: { object: "badbtf", section: ".BTF", offset: 0 } });
    expect((await xbpf("inspect", path)).err).toMatch(/\nat: object badbtf, section \.BTF, offset 0x0$/);
  });

  it("a RelocationError (a relocated ld_imm64 made a mov): program, section, instruction and symbol", async () => {
    // update_state's `r3 = data_counter ll` is tc instruction 46.
    const path = crafted("badreloc", "globals", (b, elf) => {
      b[elf.section("tc")!.offset + 46 * 8] = 0xb7;
      return b;
    });
    const j = await xbpf("inspect", path, "--json");
    expect(j.code).toBe(1);
    expect(j.json().error).toMatchObject({
      code: "RELOC_BAD_INSN",
      location: { object: "badreloc", section: "tc", program: "update_state", symbol: "data_counter", insnIndex: 46 },
    });
  });

  it("an ObjectError (an unknown variable): object and variable, which the message already names", async () => {
    const out = join(tmp, "nosuch.bpf.o");
    const j = await xbpf("patch", fixture("example"), "--set", "nosuch=1", "-o", out, "--json");
    expect(j.code).toBe(1);
    expect(j.json()).toEqual({
      error: { code: "OBJECT_NO_SUCH_VARIABLE", message: "no global variable 'nosuch' in example", location: { object: "example", variable: "nosuch" } },
    });
    const r = await xbpf("patch", fixture("example"), "--set", "nosuch=1", "-o", out);
    expect(r.err).toBe("xbpf patch: no global variable 'nosuch' in example");
    expect(existsSync(out)).toBe(false);
  });

  it("an ObjectError about a field: the at: line adds the object and section", async () => {
    const r = await xbpf("patch", fixture("example"), "--set", "cfg.nope=1", "-o", join(tmp, "nope.bpf.o"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/has no field 'nope'.*\nat: object example, section \.rodata$/);
  });

  it("an error that is not @x's (a missing file) still has a code and an empty location", async () => {
    const j = await xbpf("inspect", join(tmp, "missing.bpf.o"), "--json");
    expect(j.code).toBe(1);
    expect(j.json().error).toMatchObject({ code: "ENOENT", location: {} });
  });
});

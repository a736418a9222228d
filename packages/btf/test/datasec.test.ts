import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { datasecSourceFromElf, fixupDatasecs, parseBtf, variables, type DatasecSource } from "@x/btf";
import { compareWithBpftool, hasBpftool, localObj, readElf, sharedObj, SHARED_FIXTURES } from "./helpers.js";

function fixed(path: string) {
  const elf = readElf(path);
  const btf = parseBtf(elf.section(".BTF"));
  fixupDatasecs(btf, datasecSourceFromElf(elf));
  return { elf, btf };
}

describe("fixupDatasecs", () => {
  for (const f of SHARED_FIXTURES) {
    test(`offsets and sizes match the ELF symbol table: ${f}`, () => {
      const { elf, btf } = fixed(sharedObj(f));
      for (const t of btf.types) {
        if (t.kind !== "DATASEC") continue;
        const sec = elf.sections.find((s) => s.name === t.name)!;
        expect([t.name, t.size]).toEqual([t.name, sec.size]);
        const offsets = t.vars.map((v) => v.offset);
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
        for (const v of t.vars) {
          const vt = btf.type(v.type, "VAR");
          if (vt.linkage === "static") continue;
          const sym = elf.symbols.find((s) => s.name === vt.name && s.sectionIndex === sec.index)!;
          expect([vt.name, v.offset]).toEqual([vt.name, sym.value]);
        }
      }
    });
  }

  test("datasecSourceFromElf takes an @x/elf ElfFile as it is", () => {
    const elf = readElf(sharedObj("globals.bpf.o"));
    const btf = parseBtf(elf.section(".BTF"));
    fixupDatasecs(btf, datasecSourceFromElf(elf.file));
    expect(btf.types).toEqual(fixed(sharedObj("globals.bpf.o")).btf.types);
  });

  test("globals.bpf.o: the .rodata layout", () => {
    const { btf } = fixed(sharedObj("globals.bpf.o"));
    const rodata = variables(btf).filter((v) => v.section === ".rodata");
    expect(rodata.map((v) => [v.name, v.offset, v.size, v.linkage])).toEqual([
      ["cfg_u8", 0, 1, "global"], ["cfg_s16", 2, 2, "global"], ["cfg_u32", 4, 4, "global"],
      ["cfg_s64", 8, 8, "global"], ["cfg_u64", 16, 8, "global"], ["cfg_bool", 24, 1, "global"],
      ["cfg_mode", 28, 4, "global"], ["cfg_name", 32, 16, "global"], ["cfg_limits", 48, 24, "global"],
      ["strings.____fmt", 96, 15, "static"], ["cfg_zero", 112, 4, "global"],
    ]);
    expect(btf.type(btf.find(".rodata", "DATASEC")!, "DATASEC").size).toBe(116);
    expect(variables(btf).find((v) => v.name === "static_bss")).toMatchObject({ section: ".bss", offset: 48, linkage: "static" });
  });

  test("kinds.bpf.c: hidden symbols make the VAR static, .kconfig is only sorted, externs are skipped", () => {
    const { btf } = fixed(localObj("kinds.bpfel.o"));
    expect(btf.type(btf.find("hidden_var")!, "VAR").linkage).toBe("static");
    expect(btf.type(btf.find("tagged_var")!, "VAR").linkage).toBe("global");
    const kconfig = btf.type(btf.find(".kconfig", "DATASEC")!, "DATASEC");
    expect(kconfig.size).toBe(0);
    expect(kconfig.vars.map((v) => v.offset)).toEqual([0, 0]);
    expect(variables(btf).filter((v) => v.linkage === "extern").map((v) => v.name)).toEqual(["LINUX_KERNEL_VERSION", "CONFIG_MISSING"]);
    const data = variables(btf).filter((v) => v.section === ".data");
    expect(data.map((v) => [v.name, v.offset])).toEqual([["tagged_var", 0], ["hidden_var", 4]]);
  });

  test("a DATASEC with a size is not re-sized, but its symbols are still checked", () => {
    const elf = readElf(sharedObj("globals.bpf.o"));
    const btf = parseBtf(elf.section(".BTF"));
    const data = btf.type(btf.find(".data", "DATASEC")!, "DATASEC");
    data.size = 1000;
    fixupDatasecs(btf, datasecSourceFromElf(elf));
    expect(data.size).toBe(1000);
    expect(data.vars.map((v) => v.offset)).toEqual([0, 0, 0]); // offsets only fixed when the size was 0
  });

  const src = (over: Partial<DatasecSource>): DatasecSource => ({ ...datasecSourceFromElf(readElf(sharedObj("globals.bpf.o"))), ...over });

  test("missing symbol: BTF_MISSING_SYMBOL naming the variable and the section", () => {
    const btf = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
    const s = src({});
    const err = (() => { try { fixupDatasecs(btf, { ...s, symbol: (sec, n) => (n === "cfg_u32" ? undefined : s.symbol(sec, n)) }); } catch (e) { return e; } })();
    expect(err).toMatchObject({ code: "BTF_MISSING_SYMBOL", location: { btfKind: "VAR", btfTypeId: btf.find("cfg_u32", "VAR") } });
    expect((err as Error).message).toContain("'cfg_u32'");
    expect((err as Error).message).toContain("'.rodata'");
  });

  test("a LOCAL or non-OBJECT symbol does not count", () => {
    const btf = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
    const s = src({});
    expect(() => fixupDatasecs(btf, { ...s, symbol: (sec, n) => ({ ...s.symbol(sec, n)!, binding: 0 }) })).toThrow(expect.objectContaining({ code: "BTF_MISSING_SYMBOL" }));
    const btf2 = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
    expect(() => fixupDatasecs(btf2, { ...s, symbol: (sec, n) => ({ ...s.symbol(sec, n)!, type: 0 }) })).toThrow(expect.objectContaining({ code: "BTF_MISSING_SYMBOL" }));
  });

  test("WEAK symbols count; INTERNAL visibility makes the VAR static", () => {
    const btf = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
    const s = src({});
    fixupDatasecs(btf, { ...s, symbol: (sec, n) => ({ ...s.symbol(sec, n)!, binding: 2, visibility: n === "cfg_u8" ? 1 : 0 }) });
    expect(btf.type(btf.find("cfg_u8")!, "VAR").linkage).toBe("static");
    expect(btf.type(btf.find("cfg_s16")!, "VAR").linkage).toBe("global");
  });

  test("missing or empty section: BTF_MISSING_SECTION", () => {
    for (const size of [undefined, 0]) {
      const btf = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
      const s = src({});
      expect(() => fixupDatasecs(btf, { ...s, sectionSize: (n) => (n === ".data.custom" ? size : s.sectionSize(n)) }))
        .toThrow(expect.objectContaining({ code: "BTF_MISSING_SECTION", location: { btfTypeId: btf.find(".data.custom"), btfKind: "DATASEC" } }));
    }
  });

  test("a non-VAR DATASEC entry is refused", () => {
    const btf = parseBtf(readElf(sharedObj("globals.bpf.o")).section(".BTF"));
    btf.type(btf.find(".data", "DATASEC")!, "DATASEC").vars[0]!.type = 2;
    expect(() => fixupDatasecs(btf, src({}))).toThrow(expect.objectContaining({ code: "BTF_BAD_KIND", location: expect.objectContaining({ btfTypeId: 2 }) }));
  });
});

// libbpf's own result: the BTF that `bpftool prog loadall` (libbpf) loads into the kernel.
const canLoad = hasBpftool && process.getuid?.() === 0 && existsSync("/sys/fs/bpf");
describe.skipIf(!canLoad && !process.env.CI)("compared with libbpf (bpftool prog loadall)", () => {
  // sections.bpf.o is left out: the system libbpf (1.1) cannot load .bss.* sections.
  for (const f of ["globals.bpf.o", "example.bpf.o", "sk_lookup.bpf.o", "big.bpf.o"]) {
    test(f, () => {
      const pin = mkdtempSync("/sys/fs/bpf/xbtf-test-");
      try {
        try {
          execFileSync("bpftool", ["prog", "loadall", sharedObj(f), pin], { stdio: "pipe" });
        } catch (e) {
          console.warn(`bpftool prog loadall ${f} failed, skipping: ${(e as { stderr?: Buffer }).stderr?.toString().slice(-300)}`);
          return;
        }
        const progs = execFileSync("ls", [pin]).toString().trim().split("\n");
        const info = JSON.parse(execFileSync("bpftool", ["prog", "show", "pinned", `${pin}/${progs[0]}`, "-j"]).toString());
        const { btf } = fixed(sharedObj(f));
        compareWithBpftool(btf, ["id", info.btf_id as number]);
      } finally {
        rmSync(pin, { recursive: true, force: true });
      }
    });
  }
});

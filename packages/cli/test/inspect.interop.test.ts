/**
 * `xbpf inspect --json` against the reference tools, for every fixture:
 * - sections (name, type, size) against `llvm-readelf-19 --sections`;
 * - programs (name, section, instruction count) and variable offsets against `llvm-readelf-19 --symbols`;
 * - variables (name, DATASEC membership, size) against `bpftool btf dump file OBJ -j`;
 * - internal maps (one per non-empty data section, value size = section size).
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fixture } from "../../loader/test/fixtures.js";
import { bpftoolJson, haveReference, run } from "../../loader/test/reference.js";
import { xbpf } from "./xbpf.js";

const FIXTURES = readdirSync(new URL("../../../fixtures/obj/", import.meta.url)).filter((f) => f.endsWith(".bpf.o")).map((f) => f.replace(/\.bpf\.o$/, "")).sort();

interface ReadelfSection { Section: { Index: number; Name: { Name: string }; Type: { Name: string }; Size: number; Flags: { Flags: { Name: string }[] } } }
interface ReadelfSymbol { Symbol: { Name: { Name: string }; Value: number; Size: number; Type: { Name: string }; Binding: { Name: string }; Section: { Name: string } } }
interface BtfType { id: number; kind: string; name: string; linkage?: string; vars?: { type_id: number; offset: number; size: number }[] }

function readelf<T>(what: "--sections" | "--symbols", path: string): T[] {
  const j = JSON.parse(run("llvm-readelf-19", [what, "--elf-output-style=JSON", path]));
  return j[0][what === "--sections" ? "Sections" : "Symbols"];
}

/** A section of globals with an internal map of its own (`.metadata`: the older home of bpf_metadata_*). */
const isDataSection = (name: string) => /^\.(data|rodata|bss)(\..+)?$/.test(name) || name === ".metadata";
/** A section of globals: those, and the arena's (`__arena` globals, held by the object's arena map). */
const isGlobalsSection = (name: string) => isDataSection(name) || name === ".addr_space.1";

describe.runIf(haveReference).each(FIXTURES)("xbpf inspect --json %s.bpf.o", (name) => {
  const path = fixture(name);
  const inspect = async () => {
    const r = await xbpf("inspect", path, "--json");
    expect(r.code, r.err).toBe(0);
    return r.json();
  };

  it("sections match llvm-readelf-19: names, types, sizes", async () => {
    const d = await inspect();
    const want = readelf<ReadelfSection>("--sections", path)
      .map((s) => s.Section)
      .filter((s) => s.Type.Name !== "SHT_NULL")
      .map((s) => ({ index: s.Index, name: s.Name.Name, type: s.Type.Name.replace(/^SHT_/, ""), size: s.Size }));
    expect(d.sections.map((s: { index: number; name: string; type: string; size: number }) => ({ index: s.index, name: s.name, type: s.type, size: s.size }))).toEqual(want);
  });

  it("programs match the function symbols of the executable sections (name, section, size/8)", async () => {
    const d = await inspect();
    const exec = new Set(readelf<ReadelfSection>("--sections", path).filter((s) => s.Section.Flags.Flags.some((f) => f.Name === "SHF_EXECINSTR")).map((s) => s.Section.Name.Name));
    const want = readelf<ReadelfSymbol>("--symbols", path)
      .map((s) => s.Symbol)
      .filter((s) => s.Type.Name === "Function" && exec.has(s.Section.Name) && s.Section.Name !== ".text")
      .map((s) => ({ name: s.Name.Name, section: s.Section.Name, insns: s.Size / 8 }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const got = d.programs.map((p: { name: string; section: string; insns: number }) => ({ name: p.name, section: p.section, insns: p.insns })).sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name));
    expect(got).toEqual(want);
  });

  it("variables match bpftool's BTF (names, DATASEC, sizes) and the symbol table (offsets)", async () => {
    const d = await inspect();
    const btf = bpftoolJson<{ types: BtfType[] }>("btf", "dump", "file", path).types;
    const byId = new Map(btf.map((t) => [t.id, t]));
    // Every non-extern VAR of a data section's DATASEC; bpftool shows the raw .BTF, whose DATASEC
    // offsets of global variables are 0 until fixed up, so offsets come from the symbol table.
    const symbols = new Map(readelf<ReadelfSymbol>("--symbols", path).map((s) => [`${s.Symbol.Section.Name}/${s.Symbol.Name.Name}`, s.Symbol]));
    const want = btf
      .filter((t) => t.kind === "DATASEC" && isGlobalsSection(t.name))
      .flatMap((sec) => sec.vars!.map((v) => ({ sec: sec.name, v, t: byId.get(v.type_id)! })))
      .filter(({ t }) => t.linkage !== "extern")
      .map(({ sec, v, t }) => {
        const sym = symbols.get(`${sec}/${t.name}`);
        expect(sym, `symbol of ${t.name}`).toBeDefined();
        expect(sym!.Size, `${t.name}: DATASEC size vs symbol size`).toBe(v.size);
        return { name: t.name, section: sec, size: v.size, offset: sym!.Value, linkage: t.linkage };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    // struct_ops variables are their maps' values (offset 0 in their own image), compared in the struct_ops tests.
    const got = d.variables
      .filter((v: { section: string }) => !/^\??\.struct_ops(\.link)?$/.test(v.section))
      .map((v: { name: string; section: string; size: number; offset: number; linkage: string }) => ({ name: v.name, section: v.section, size: v.size, offset: v.offset, linkage: v.linkage }))
      .sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name));
    expect(got).toEqual(want);
  });

  it("internal maps: one per non-empty allocated data section, value size = section size", async () => {
    const d = await inspect();
    const want = readelf<ReadelfSection>("--sections", path)
      .map((s) => s.Section)
      .filter((s) => isDataSection(s.Name.Name) && s.Size > 0 && s.Flags.Flags.some((f) => f.Name === "SHF_ALLOC"))
      .map((s) => ({ section: s.Name.Name, valueSize: s.Size, frozen: s.Name.Name.startsWith(".rodata") || s.Name.Name === ".metadata" }));
    // The .kconfig map holds no ELF section (its values come from the kernel at load); the arena's
    // section is held by the arena map of .maps.
    const got = d.maps
      .filter((m: { section: string | null; origin: string }) => m.section !== null && m.origin !== "kconfig" && m.origin !== "btf")
      .map((m: { section: string; valueSize: number; frozen: boolean }) => ({ section: m.section, valueSize: m.valueSize, frozen: m.frozen }));
    expect(got).toEqual(want);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { BpfCoreReloKind, encodeBtfExt, encodeBtfWithExt, parseBtf, parseBtfExt, type BtfExt } from "@x/btf";
import { localObj, readElf, repo, sharedObj, SHARED_FIXTURES } from "./helpers.js";

function load(path: string) {
  const elf = readElf(path);
  const raw = elf.section(".BTF");
  const btf = parseBtf(raw);
  return { elf, raw, btf, ext: parseBtfExt(elf.section(".BTF.ext"), btf) };
}

describe("parseBtfExt", () => {
  test("globals.bpf.o: func_info per section names the FUNC types at their offsets", () => {
    const { btf, ext, elf } = load(sharedObj("globals.bpf.o"));
    expect(ext.littleEndian).toBe(true);
    expect(ext.funcInfo.recSize).toBe(8);
    expect(ext.lineInfo.recSize).toBe(16);
    const funcs = Object.fromEntries(ext.funcInfo.sections.map((s) => [s.section, s.records.map((r) => [r.insnOff, btf.type(r.typeId, "FUNC").name])]));
    // Every func_info names a FUNC whose ELF symbol is at that offset in that section.
    for (const [sec, recs] of Object.entries(funcs)) {
      const idx = elf.sections.find((s) => s.name === sec)!.index;
      for (const [off, fname] of recs as [number, string][]) {
        const sym = elf.symbols.find((s) => s.name === fname)!;
        expect([sec, fname, sym.sectionIndex, sym.value]).toEqual([sec, fname, idx, off]);
      }
    }
    expect(Object.keys(funcs).sort()).toEqual([".text", "socket", "tc"]);
    expect(funcs["tc"]).toEqual([[0, "read_config"], [expect.any(Number), "update_state"]]);
  });

  test("line_info carries the source lines clang saw", () => {
    const { ext } = load(sharedObj("globals.bpf.o"));
    const src = readFileSync(`${repo}fixtures/src/globals.bpf.c`, "utf8").split("\n");
    let checked = 0;
    for (const sec of ext.lineInfo.sections) {
      for (const r of sec.records) {
        if (!r.fileName.endsWith("globals.bpf.c")) continue;
        expect(r.line.trim()).toBe(src[r.lineNumber - 1]!.trim());
        expect(r.column).toBeGreaterThanOrEqual(0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  test("CO-RE relocations (kinds.bpf.c), both byte orders", () => {
    for (const f of ["kinds.bpfel.o", "kinds.bpfeb.o"]) {
      const { btf, ext } = load(localObj(f));
      expect(ext.coreRelos).toBeDefined();
      expect(ext.coreRelos!.recSize).toBe(16);
      const relos = ext.coreRelos!.sections.flatMap((s) => s.records.map((r) => ({ section: s.section, type: btf.type(r.typeId).name, access: r.accessStr, kind: r.kind })));
      expect(relos).toEqual(expect.arrayContaining([
        { section: "socket", type: "target", access: "0:1", kind: BpfCoreReloKind.FIELD_EXISTS },
        { section: "socket", type: "target", access: "0:1", kind: BpfCoreReloKind.FIELD_BYTE_OFFSET },
      ]));
    }
  });

  test("big-endian .BTF.ext parses to the same records as little-endian", () => {
    const le = load(localObj("globals.bpfel.o")).ext;
    const be = load(localObj("globals.bpfeb.o")).ext;
    expect(be.littleEndian).toBe(false);
    // Code generation differs slightly between bpfel and bpfeb, so compare everything but offsets.
    const shape = (e: BtfExt) => ({
      funcs: e.funcInfo.sections.map((s) => [s.section, s.records.map((r) => r.typeId)]),
      lines: e.lineInfo.sections.map((s) => [s.section, [...new Set(s.records.map((r) => `${r.lineNumber}:${r.line}`))].sort()]),
    });
    expect(shape(be)).toEqual(shape(le));
  });

  test("raw .BTF bytes work as the string source too", () => {
    const { elf, ext, raw } = load(sharedObj("example.bpf.o"));
    expect(parseBtfExt(elf.section(".BTF.ext"), raw)).toEqual(ext);
  });
});

describe("encode round trip", () => {
  const objects = [...SHARED_FIXTURES.map(sharedObj), localObj("kinds.bpfel.o"), localObj("kinds.bpfeb.o")];
  for (const path of objects) {
    test(path.split("/").slice(-2).join("/"), () => {
      const { btf, ext } = load(path);
      const enc = encodeBtfWithExt(btf, ext);
      const btf2 = parseBtf(enc.btf);
      expect(btf2.types).toEqual(btf.types);
      expect(parseBtfExt(enc.ext, btf2)).toEqual(ext);
    });
  }

  test("records larger than the known struct keep their extra bytes", () => {
    const { btf, ext } = load(sharedObj("globals.bpf.o"));
    const wide: BtfExt = {
      ...ext,
      funcInfo: {
        recSize: 12,
        sections: ext.funcInfo.sections.map((s) => ({ ...s, records: s.records.map((r, i) => ({ ...r, extra: new Uint8Array([i, 1, 2, 3]) })) })),
      },
    };
    const enc = encodeBtfWithExt(btf, wide);
    const back = parseBtfExt(enc.ext, parseBtf(enc.btf));
    expect(back.funcInfo).toEqual(wide.funcInfo);
    expect(back.lineInfo).toEqual(ext.lineInfo);
  });

  test("a header without the core_relo part", () => {
    const { btf, ext } = load(sharedObj("globals.bpf.o"));
    const enc = btf.encodeWithStrings({ extraStrings: [...new Set(ext.funcInfo.sections.map((s) => s.section))] });
    const bytes = encodeBtfExt({ ...ext, lineInfo: { recSize: 16, sections: [] }, coreRelos: undefined }, enc.stringOffset);
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(24);
    const back = parseBtfExt(bytes, parseBtf(enc.bytes));
    expect(back.coreRelos).toBeUndefined();
    expect(back.funcInfo).toEqual(ext.funcInfo);
  });

  test("a string missing from the BTF is an error", () => {
    const { btf, ext } = load(sharedObj("globals.bpf.o"));
    expect(() => encodeBtfExt(ext, btf.encodeWithStrings().stringOffset)).toThrow(expect.objectContaining({ code: "BTF_BAD_STRING" }));
  });
});

describe("errors", () => {
  const { elf, btf } = load(sharedObj("globals.bpf.o"));
  const good = elf.section(".BTF.ext");
  const mutate = (f: (b: Uint8Array, dv: DataView) => void) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  test.each([
    ["truncated header", good.slice(0, 6), "BTF_TRUNCATED"],
    ["bad magic", mutate((b) => { b[0] = 0; }), "BTF_BAD_MAGIC"],
    ["bad version", mutate((b) => { b[2] = 2; }), "BTF_BAD_VERSION"],
    ["hdr_len too small", mutate((_b, dv) => dv.setUint32(4, 16, true)), "BTF_BAD_HEADER"],
    ["subsection past the end", mutate((_b, dv) => dv.setUint32(12, 0x10000, true)), "BTF_TRUNCATED"],
    ["record size too small", mutate((b, dv) => dv.setUint32(dv.getUint32(4, true) + dv.getUint32(8, true), 4, true)), "BTF_INVALID"],
    ["num_info too large", mutate((b, dv) => dv.setUint32(dv.getUint32(4, true) + dv.getUint32(8, true) + 8, 0x1000, true)), "BTF_TRUNCATED"],
    ["bogus section name offset", mutate((b, dv) => dv.setUint32(dv.getUint32(4, true) + dv.getUint32(8, true) + 4, 0xfffffff, true)), "BTF_BAD_STRING"],
    ["cut in the middle", good.slice(0, good.length - 3), "BTF_TRUNCATED"],
  ])("%s", (_name, bytes, code) => {
    expect(() => parseBtfExt(bytes as Uint8Array, btf)).toThrow(expect.objectContaining({ code }));
  });
});

import { describe, expect, test } from "vitest";
import { datasecSourceFromElf, fixupDatasecs, parseBtf, parseBtfExt, patchDatasecsInPlace } from "@x/btf";
import { readElf, sharedObj } from "./helpers.js";

describe("patchDatasecsInPlace", () => {
  for (const name of ["globals.bpf.o", "sections.bpf.o", "example.bpf.o", "big.bpf.o"]) {
    test(`${name}: the patched original decodes to the fixed-up types, strings keep their offsets`, () => {
      const elf = readElf(sharedObj(name));
      const original = elf.section(".BTF")!;
      const btf = parseBtf(original);
      fixupDatasecs(btf, datasecSourceFromElf(elf));
      const patched = patchDatasecsInPlace(btf, original)!;
      expect(patched).toBeDefined();
      expect(parseBtf(patched.bytes).types).toEqual(btf.types);
      // Only DATASEC records changed: the blob is the original's size, the string table untouched.
      expect(patched.bytes.byteLength).toBe(original.byteLength);
      const ext = parseBtfExt(elf.section(".BTF.ext")!, btf);
      for (const line of ext.lineInfo.sections.flatMap((s) => s.records).slice(0, 20)) {
        const off = patched.stringOffset(line.line)!;
        expect(btf.sourceStrings!.lookup(off)).toBe(line.line);
      }
    });
  }

  test("refuses a BTF that was not parsed from these bytes", () => {
    const a = readElf(sharedObj("globals.bpf.o")).section(".BTF")!;
    const b = readElf(sharedObj("big.bpf.o")).section(".BTF")!;
    expect(patchDatasecsInPlace(parseBtf(a), b)).toBeUndefined();
  });
});

// Writer: section data replacement keeps every other byte identical and refuses what cannot be done.
import { ElfFile, replaceSectionData } from "@x/elf";
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { expectElfError, fixture, fixturePath } from "./helpers.js";

const bytes = fixture("globals.bpf.o");
const file = ElfFile.parse(bytes);

/** Indexes where two equal-length buffers differ. */
function diff(a: Uint8Array, b: Uint8Array): number[] {
  expect(a.length).toBe(b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

describe("withSectionData", () => {
  it("replaces .data and nothing else", () => {
    const data = file.section(".data")!;
    const replacement = data.data.map((b, i) => (~b + i) & 0xff);
    const out = file.withSectionData(new Map([[".data", replacement]]));
    const changed = diff(bytes, out);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((i) => i >= data.offset && i < data.offset + data.size)).toBe(true);
    // Whole file compare: original bytes outside .data, replacement inside.
    const expected = bytes.slice();
    expected.set(replacement, data.offset);
    expect(out).toEqual(expected);
    expect(ElfFile.parse(out).section(".data")!.data).toEqual(replacement);
  });

  it("accepts section indexes and several sections at once, without touching the input", () => {
    const before = bytes.slice();
    const ro = file.section(".rodata")!;
    const lic = file.section("license")!;
    const out = file.withSectionData(new Map<string | number, Uint8Array>([[ro.index, new Uint8Array(ro.size).fill(0xaa)], ["license", new TextEncoder().encode("MIT\0")]]));
    const f = ElfFile.parse(out);
    expect(f.section(".rodata")!.data.every((b) => b === 0xaa)).toBe(true);
    expect(new TextDecoder().decode(f.section("license")!.data)).toBe("MIT\0");
    expect(diff(bytes, out).every((i) => (i >= ro.offset && i < ro.offset + ro.size) || (i >= lic.offset && i < lic.offset + lic.size))).toBe(true);
    expect(bytes).toEqual(before);
  });

  it("returns an identical copy for no replacements", () => {
    const out = file.withSectionData(new Map());
    expect(out).toEqual(bytes);
    expect(out.buffer).not.toBe(bytes.buffer);
  });

  it("works on a file that views a larger buffer", () => {
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes, 8);
    const f = ElfFile.parse(padded.subarray(8));
    const out = f.withSectionData(new Map([[".data", new Uint8Array(f.section(".data")!.size)]]));
    expect(out.length).toBe(bytes.length);
    expect(ElfFile.parse(out).section(".data")!.data.every((b) => b === 0)).toBe(true);
  });

  it("never writes into a Node Buffer input, and hands out plain Uint8Array views", () => {
    const buf = readFileSync(fixturePath("globals.bpf.o"));
    const before = Buffer.from(buf);
    const f = ElfFile.parse(buf);
    const data = f.section(".data")!;
    expect(data.data.constructor).toBe(Uint8Array);
    expect(data.data.buffer).toBe(buf.buffer);
    const out = f.withSectionData(new Map([[".data", new Uint8Array(data.size).fill(7)]]));
    expect(buf.equals(before)).toBe(true);
    expect(out.constructor).toBe(Uint8Array);
    expect(ElfFile.parse(out).section(".data")!.data.every((b) => b === 7)).toBe(true);
  });

  it("refuses a replacement of the wrong length", () => {
    const e = expectElfError(() => file.withSectionData(new Map([[".data", new Uint8Array(3)]])), "ELF_BAD_REPLACEMENT");
    expect(e.message).toMatch(/expected 48 bytes \(the section size\), found 3/);
    expect(e.location.section).toBe(".data");
  });

  it("refuses NOBITS sections, saying why", () => {
    const bss = file.section(".bss")!;
    const e = expectElfError(() => file.withSectionData(new Map([[".bss", new Uint8Array(bss.size)]])), "ELF_BAD_REPLACEMENT");
    expect(e.message).toMatch(/NOBITS/);
    expectElfError(() => file.withSectionData(new Map([[0, new Uint8Array(0)]])), "ELF_BAD_REPLACEMENT");
  });

  it("refuses unknown sections and the same section twice", () => {
    expectElfError(() => file.withSectionData(new Map([[".nope", new Uint8Array(0)]])), "ELF_SECTION_NOT_FOUND");
    expectElfError(() => file.withSectionData(new Map([[9999, new Uint8Array(0)]])), "ELF_SECTION_NOT_FOUND");
    const data = file.section(".data")!;
    const r = new Uint8Array(data.size);
    expectElfError(() => replaceSectionData(file, new Map<string | number, Uint8Array>([[".data", r], [data.index, r]])), "ELF_BAD_REPLACEMENT");
  });
});

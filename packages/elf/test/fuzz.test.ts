// Robustness: truncated and mutated objects either parse or throw ElfError; never another
// exception, never a hang. Everything lazy is forced (parseFully) so it is covered too.
import { ElfError, ElfFile, Elf64_Shdr } from "@x/elf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fixture, fixtureNames, parseFully } from "./helpers.js";

/**
 * Parse fully; return "ok" or the ElfError code. Any other exception fails the test, and so does
 * ELF_MALFORMED: that code comes from the last-resort RangeError net, so seeing it here would mean
 * an explicit bounds check (with a precise message) is missing.
 */
function outcome(bytes: Uint8Array): string {
  try {
    parseFully(bytes);
    return "ok";
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    if (e.code === "ELF_MALFORMED" || e.cause !== undefined) throw new Error(`unchecked bound reached the safety net: ${e.message}`);
    return e.code;
  }
}

describe("truncation", () => {
  it("every truncation length of sk_lookup.bpf.o parses or throws ElfError", () => {
    const bytes = fixture("sk_lookup.bpf.o");
    const codes = new Map<string, number>();
    for (let n = 0; n < bytes.length; n++) {
      const c = outcome(bytes.subarray(0, n));
      codes.set(c, (codes.get(c) ?? 0) + 1);
    }
    // The section header table is at the end, so every proper prefix is refused.
    expect(codes.get("ok")).toBeUndefined();
    expect(codes.get("ELF_TRUNCATED")).toBeGreaterThan(0);
    expect(outcome(bytes)).toBe("ok");
  });

  it.each(fixtureNames)("random truncations of %s parse or throw ElfError", (name) => {
    const bytes = fixture(name);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length }), (n) => {
        outcome(bytes.subarray(0, n));
      }),
      { numRuns: 300 },
    );
  });
});

describe("mutation", () => {
  const bytes = fixture("globals.bpf.o");
  const file = ElfFile.parse(bytes);
  const shoff = file.header.sectionHeaderOffset;
  const structural: [number, number][] = [
    [0, 64],
    [shoff, shoff + file.sections.length * Elf64_Shdr.size],
    ...file.sections.filter((s) => s.type === 2 || s.type === 9 || s.type === 3).map((s): [number, number] => [s.offset, s.offset + s.size]),
  ];
  // Mutations land mostly in the structures the parser interprets (headers, symtab, rel, strtab);
  // mutating DWARF bytes would mostly test nothing.
  const position = fc.oneof(
    { weight: 1, arbitrary: fc.integer({ min: 0, max: bytes.length - 1 }) },
    { weight: 4, arbitrary: fc.constantFrom(...structural).chain(([a, b]) => fc.integer({ min: a, max: b - 1 })) },
  );
  const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80, 1, 2));
  const mutation = fc.array(fc.tuple(position, byte), { minLength: 1, maxLength: 8 });

  it("random byte mutations parse or throw ElfError", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(mutation, (muts) => {
        const copy = bytes.slice();
        for (const [at, v] of muts) copy[at] = v;
        seen.add(outcome(copy));
      }),
      { numRuns: 3000 },
    );
    // Sanity: the generator reaches both outcomes, not only one kind of failure.
    expect(seen.has("ok")).toBe(true);
    expect(seen.size).toBeGreaterThan(3);
  });

  it("random 32/64-bit field overwrites in the section header table parse or throw ElfError", () => {
    const word = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.constantFrom(0n, 1n, 0xffffn, 0xff00n, 0xffffffffn, (1n << 64n) - 1n, 1n << 63n, BigInt(bytes.length), BigInt(bytes.length - 1)),
    );
    const field = fc.constantFrom(...Elf64_Shdr.fields);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: file.sections.length - 1 }), field, word, (i, f, v) => {
        const copy = bytes.slice();
        const view = new DataView(copy.buffer);
        const at = shoff + i * Elf64_Shdr.size + f.offset;
        if (f.size === 8) view.setBigUint64(at, v, true);
        else view.setUint32(at, Number(v & 0xffffffffn), true);
        outcome(copy);
      }),
      { numRuns: 3000 },
    );
  });

  it("random bytes parse or throw ElfError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 512 }), fc.boolean(), (junk, elfPrefix) => {
        // Half of the cases start with a plausible ELF64 BPF ident so the parser gets past the magic.
        if (elfPrefix) junk = Uint8Array.from([...bytes.subarray(0, 20), ...junk]);
        outcome(junk);
      }),
      { numRuns: 2000 },
    );
  });
});

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LayoutBoundsError, readCString, struct } from "@x/elf/layout";

const Rec = struct("rec", [["a", "u8"], ["b", "i16"], ["c", "u32"], ["d", "i64"], ["e", { bytes: 3 }], ["f", "u16", 20]], 24);

describe("layout", () => {
  it("derives offsets and size from the declaration", () => {
    expect(Rec.fields.map((f) => [f.name, f.offset, f.size])).toEqual([["a", 0, 1], ["b", 1, 2], ["c", 3, 4], ["d", 7, 8], ["e", 15, 3], ["f", 20, 2]]);
    expect(Rec.size).toBe(24);
  });

  it("read(encode(x)) = x in both byte orders, also inside a larger buffer at an offset", () => {
    fc.assert(fc.property(
      fc.record({
        a: fc.integer({ min: 0, max: 255 }), b: fc.integer({ min: -32768, max: 32767 }), c: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        d: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), e: fc.uint8Array({ minLength: 3, maxLength: 3 }), f: fc.integer({ min: 0, max: 65535 }),
      }),
      fc.boolean(), fc.integer({ min: 0, max: 16 }),
      (v, le, at) => {
        const buf = new Uint8Array(64).subarray(5);
        Rec.write(buf, at, v, le);
        const back = Rec.read(buf, at, le);
        expect({ ...back, e: Array.from(back.e) }).toEqual({ ...v, e: Array.from(v.e) });
      },
    ));
  });

  it("refuses records that do not fit, naming the layout and offset", () => {
    const err = (() => { try { Rec.read(new Uint8Array(30), 10, true); } catch (e) { return e; } })() as LayoutBoundsError;
    expect(err).toBeInstanceOf(LayoutBoundsError);
    expect(err.code).toBe("LAYOUT_OUT_OF_BOUNDS");
    expect(err.message).toMatch(/rec at offset 10 needs 24 bytes/);
    expect(() => Rec.read(new Uint8Array(30), -1, true)).toThrow(LayoutBoundsError);
    expect(Rec.fits(new Uint8Array(30), 6)).toBe(true);
    expect(Rec.fits(new Uint8Array(30), 7)).toBe(false);
  });

  it("reads NUL-terminated strings only inside the buffer", () => {
    const b = new TextEncoder().encode("ab\0cd");
    expect(readCString(b, 0)).toBe("ab");
    expect(readCString(b, 3)).toBeUndefined();
    expect(readCString(b, 9)).toBeUndefined();
  });
});

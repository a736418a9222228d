import { describe, expect, it } from "vitest";

describe("byte order", () => {
  it("opens a big-endian object but refuses to load it on this little-endian machine, saying why", async () => {
    const { readFileSync } = await import("node:fs");
    const { openObject, ObjectError } = await import("@x/loader");
    const bytes = new Uint8Array(readFileSync(new URL("../../btf/test/fixtures/globals.bpfeb.o", import.meta.url)));
    const spec = openObject(bytes, { name: "globals" });
    expect(spec.elf.littleEndian).toBe(false);
    expect(spec.variable("cfg_s64").get()).toBe(-5000000000n);
    const err = (() => { try { spec.load(); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(ObjectError);
    // A code of its own: nothing is wrong with the programs, only the byte order.
    expect(err).toMatchObject({ code: "OBJECT_WRONG_BYTE_ORDER", location: { object: "globals" } });
    expect((err as Error).message).toMatch(/big-endian \(bpfeb\), but this kernel is little-endian/);
  });
});

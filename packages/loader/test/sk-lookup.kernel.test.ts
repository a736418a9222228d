/**
 * sk_lookup.bpf.o returns a `.rodata` constant. The verifier accepts an sk_lookup program only if
 * it can prove the return value is SK_DROP or SK_PASS, which it can only when the `.rodata` map is
 * frozen before the program loads. The loader must do that; the negative case is built by hand
 * with @x/sys and @x/reloc to show that freezing is what makes it verify.
 */
import { describe, expect, it } from "vitest";
import { openObject } from "@x/loader";
import { encodeInstructions, linkProgram, patchMapReferences } from "@x/reloc";
import {
  AttachType, BpfSyscallError, mapCreate, mapFreeze, MapFlags, mapUpdate, MapType, progInfo, progLoad, ProgType,
} from "@x/sys";
import { fixture, haveKernel } from "./kernel.js";

/** struct bpf_sk_lookup for BPF_PROG_TEST_RUN: family at 8, protocol at 12 (72 bytes). */
function skLookupCtx(): Uint8Array {
  const ctx = new Uint8Array(72);
  const v = new DataView(ctx.buffer);
  v.setUint32(8, 2, true); // AF_INET
  v.setUint32(12, 6, true); // IPPROTO_TCP
  return ctx;
}

/** Load the `lookup` program by hand: `.rodata` map created and written, frozen only if asked. */
function loadByHand(verdict: number, freeze: boolean) {
  const spec = openObject(fixture("sk_lookup"));
  spec.set("verdict", verdict);
  const rodata = spec.map(".rodata");
  using map = mapCreate({
    type: MapType.ARRAY, keySize: 4, valueSize: rodata.valueSize, maxEntries: 1, flags: MapFlags.BPF_F_RDONLY_PROG,
  });
  mapUpdate(map, new Uint8Array(4), rodata.image!);
  if (freeze) mapFreeze(map);
  const linked = linkProgram(spec.elf, "lookup", spec.relocations, { programs: spec.functions });
  expect(linked.relocations.map((r) => [r.kind, r.targetSection])).toEqual([["data", ".rodata"]]);
  const insns = encodeInstructions(
    patchMapReferences(linked.insns, linked.relocations, {
      map: (name) => { throw new Error(`unexpected map ${name}`); },
      data: (section) => { expect(section).toBe(".rodata"); return map.fd; },
    }),
    spec.elf.littleEndian,
  );
  return progLoad({ type: ProgType.SK_LOOKUP, expectedAttachType: AttachType.SK_LOOKUP, insns, license: spec.license });
}

describe.runIf(haveKernel)("sk_lookup: .rodata frozen before load", () => {
  for (const verdict of [1, 0]) {
    it(`loads with verdict=${verdict} (${verdict ? "SK_PASS" : "SK_DROP"}) and returns it`, () => {
      const spec = openObject(fixture("sk_lookup"));
      spec.set("verdict", verdict);
      using obj = spec.load();
      const prog = obj.program("lookup");
      expect(prog.info().type).toBe(ProgType.SK_LOOKUP);
      try {
        expect(prog.testRun({ ctx: skLookupCtx() }).retval).toBe(verdict);
      } catch (e) {
        // BPF_PROG_TEST_RUN for sk_lookup arrived in 5.13; older kernels answer ENOTSUPP, and the
        // successful load above is then the whole proof.
        if (!(e instanceof BpfSyscallError && e.errnoName === "ENOTSUPP")) throw e;
        console.warn(`[sk_lookup] this kernel cannot test-run sk_lookup programs (${e.message})`);
      }
    });
  }

  it("the same instructions with the map NOT frozen are rejected by the verifier (return value range)", () => {
    let error: unknown;
    try {
      loadByHand(1, false).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BpfSyscallError);
    const e = error as BpfSyscallError;
    expect(e.errnoName).toBe("EINVAL");
    // e.g. "At program exit the register R0 has unknown scalar value should have been in [0, 1]"
    expect(e.log).toMatch(/At program exit the register R0 has/);
    expect(e.log).toMatch(/should have been in/);
  });

  it("control: the hand-built load verifies once the map is frozen", () => {
    using prog = loadByHand(1, true);
    expect(progInfo(prog).type).toBe(ProgType.SK_LOOKUP);
  });

  it("a verdict outside {0, 1} set before load is refused by the verifier through the loader", () => {
    const spec = openObject(fixture("sk_lookup"));
    spec.set("verdict", 7);
    expect(() => spec.load()).toThrow(expect.objectContaining({ code: "LOAD_PROGRAM", location: expect.objectContaining({ object: "sk_lookup", program: "lookup" }), log: expect.stringMatching(/should have been in/) }));
  });
});

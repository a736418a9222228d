import { describe, expect, it } from "vitest";
import { BpfSyscallError, btfGetFdById, btfInfo, btfLoad, buildBtf } from "@x/sys";
import { haveKernel } from "./kernel.js";

// int: name 1, INT kind, size 4, signed 32 bits.
const INT = [1, 0x01000000, 4, 0x01000020];

describe.runIf(haveKernel)("BTF", () => {
  it("loads a tiny valid BTF and reads its info back", () => {
    const raw = buildBtf(INT, "\0int");
    using btf = btfLoad(raw);
    const info = btfInfo(btf, { withData: true });
    expect(info.id).toBeGreaterThan(0);
    expect(info.btfSize).toBe(raw.byteLength);
    expect(info.kernelBtf).toBe(false);
    expect(info.data).toEqual(raw);
    using again = btfGetFdById(info.id);
    expect(btfInfo(again).id).toBe(info.id);
  });

  it("rejects a broken BTF with the BTF log attached", () => {
    // INT with an out-of-range string offset.
    const raw = buildBtf([99, 0x01000000, 4, 0x01000020], "\0int");
    let err: unknown;
    try {
      btfLoad(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfSyscallError);
    const e = err as BpfSyscallError;
    expect(e.command).toBe("BPF_BTF_LOAD");
    expect(e.errnoName).toBe("EINVAL");
    expect(e.log).toMatch(/Invalid name_offset/i);
  });

  it("returns the log on success when asked", () => {
    using btf = btfLoad(buildBtf(INT, "\0int"), { logLevel: 1 });
    expect(typeof btf.log).toBe("string");
  });
});

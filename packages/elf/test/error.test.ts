/**
 * XError, the base of every error of @x: stable code, compact location, within() that never
 * overwrites, toJSON, and `instanceof XError` for the error classes of every package.
 */
import { describe, expect, it } from "vitest";
import { ElfError, ElfFile, ERROR_LOCATION_KEYS, isXError, XError } from "@x/elf";
import { LayoutBoundsError, struct } from "@x/elf/layout";

describe("XError", () => {
  it("has a stable code, the subclass's name, a message and a cause", () => {
    const cause = new Error("inner");
    const e = new XError("SOME_CODE", "something failed", {}, { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe("SOME_CODE");
    expect(e.name).toBe("XError");
    expect(e.message).toBe("something failed");
    expect(e.cause).toBe(cause);
    class MyError extends XError<"MINE"> {}
    expect(new MyError("MINE", "m").name).toBe("MyError");
  });

  it("keeps only the location fields that are set, in a fixed order, and lets nobody change them", () => {
    const e = new XError("C", "m", { insnIndex: 0, program: undefined, object: "obj", offset: 0, btfKind: undefined });
    expect(e.location).toEqual({ object: "obj", offset: 0, insnIndex: 0 });
    expect(Object.keys(e.location)).toEqual(["object", "offset", "insnIndex"]);
    // Fields that are not location fields are not carried.
    expect(new XError("C", "m", { program: "p", command: "x" } as never).location).toEqual({ program: "p" });
    expect(new XError("C", "m").location).toEqual({});
    expect(Object.isFrozen(e.location)).toBe(true);
    expect(() => {
      (e.location as { object: string }).object = "other";
    }).toThrow(TypeError);
    expect(ERROR_LOCATION_KEYS).toEqual(["object", "section", "offset", "program", "map", "variable", "symbol", "insnIndex", "btfTypeId", "btfKind"]);
  });

  it("within() adds outer context without overwriting what the thrower said, and returns the error", () => {
    const e = new XError("C", "m", { section: "tc", insnIndex: 4 });
    expect(e.within({ object: "example", section: ".text", program: "classify", map: undefined })).toBe(e);
    expect(e.location).toEqual({ object: "example", section: "tc", program: "classify", insnIndex: 4 });
    // A second, outer layer only fills what is still missing.
    e.within({ object: "other", variable: "cfg" });
    expect(e.location).toEqual({ object: "example", section: "tc", program: "classify", variable: "cfg", insnIndex: 4 });
    expect(Object.isFrozen(e.location)).toBe(true);
  });

  it("toJSON() gives name, code, message, location and the subclass's details, and JSON.stringify uses it", () => {
    class Refused extends XError<"REFUSED"> {
      readonly errnoName = "EPERM";
      readonly size = 8n;
      readonly log: string | undefined = undefined;
      constructor() {
        super("REFUSED", "no", { map: "counters" });
      }
    }
    const e = new Refused();
    expect(e.toJSON()).toEqual({ name: "Refused", code: "REFUSED", message: "no", location: { map: "counters" }, errnoName: "EPERM", size: "8" });
    expect(JSON.parse(JSON.stringify({ error: e }))).toEqual({ error: e.toJSON() });
    expect(new XError("C", "m").toJSON()).toEqual({ name: "XError", code: "C", message: "m", location: {} });
  });

  it("isXError knows errors of @x, also those of another copy of the module", async () => {
    expect(isXError(new XError("C", "m"))).toBe(true);
    expect(isXError(new Error("m"))).toBe(false);
    expect(isXError({ code: "C", location: {} })).toBe(false);
    expect(isXError(undefined)).toBe(false);
    // A second instance of the module: its XError is another class, so instanceof fails.
    const copy = "../src/error.ts?another-copy";
    const other = (await import(/* @vite-ignore */ copy)) as typeof import("../src/error.js");
    expect(other.XError).not.toBe(XError);
    const foreign = new other.XError("C", "from another copy");
    expect(foreign instanceof XError).toBe(false);
    expect(isXError(foreign)).toBe(true);
  });
});

describe("every error class of every package is an XError", () => {
  const thrown = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    throw new Error("expected a throw");
  };

  it("@x/elf: ElfError, LayoutBoundsError", () => {
    const elf = thrown(() => ElfFile.parse(new Uint8Array(3)));
    expect(elf).toBeInstanceOf(ElfError);
    expect(elf).toBeInstanceOf(XError);
    expect(elf).toMatchObject({ code: "ELF_BAD_MAGIC", location: { offset: 0 } });
    const Rec = struct("rec", [["a", "u32"]]);
    const layout = thrown(() => Rec.read(new Uint8Array(6), 4, true));
    expect(layout).toBeInstanceOf(LayoutBoundsError);
    expect(layout).toBeInstanceOf(XError);
    expect(layout).toMatchObject({ code: "LAYOUT_OUT_OF_BOUNDS", location: { offset: 4 }, layout: "rec", needed: 4, available: 6 });
  });

  it("@x/btf: BtfError", async () => {
    const { BtfError, parseBtf } = await import("@x/btf");
    const e = thrown(() => parseBtf(new Uint8Array([1, 2, 3, 4])));
    expect(e).toBeInstanceOf(BtfError);
    expect(e).toBeInstanceOf(XError);
    expect(e).toMatchObject({ code: "BTF_BAD_MAGIC", location: { offset: 0 } });
  });

  it("@x/reloc: RelocationError", async () => {
    const { RelocationError, decodeInstructions } = await import("@x/reloc");
    const e = thrown(() => decodeInstructions(new Uint8Array(12), true));
    expect(e).toBeInstanceOf(RelocationError);
    expect(e).toBeInstanceOf(XError);
    expect(e).toMatchObject({ code: "RELOC_TRUNCATED" });
  });

  it("@x/sys: BpfSyscallError, UnsupportedFeatureError, FdClosedError, MappedMemoryError, SyscallError", async () => {
    const sys = await import("@x/sys");
    const errors: [XError, string][] = [
      [new sys.BpfSyscallError(sys.BpfCmd.MAP_CREATE, 1, { log: "verifier says no" }), "BPF_SYSCALL"],
      [new sys.UnsupportedFeatureError("map_freeze", "5.2", "BPF_MAP_FREEZE"), "UNSUPPORTED_FEATURE"],
      [new sys.FdClosedError("map"), "FD_CLOSED"],
      [new sys.MappedMemoryError("MMAP_DISPOSED", "gone"), "MMAP_DISPOSED"],
      [new sys.SyscallError("mmap", 12), "SYSCALL"],
    ];
    for (const [e, code] of errors) {
      expect(e).toBeInstanceOf(XError);
      expect(e.code).toBe(code);
      expect(e.location).toEqual({});
    }
    // Details stay properties of their own, and reach toJSON.
    expect(errors[0]![0]).toMatchObject({ command: "BPF_MAP_CREATE", errno: 1, errnoName: "EPERM", log: "verifier says no" });
    expect(errors[0]![0].toJSON()).toMatchObject({ code: "BPF_SYSCALL", command: "BPF_MAP_CREATE", errnoName: "EPERM", log: "verifier says no" });
    expect(errors[1]![0]).toMatchObject({ feature: "map_freeze", minKernel: "5.2" });
  });

  it("@x/loader: ObjectError, LoadError (location apart from the kernel's answer)", async () => {
    const { ObjectError, LoadError } = await import("@x/loader");
    const o = new ObjectError("OBJECT_NO_SUCH_MAP", "no map", { object: "example", map: "m" });
    expect(o).toBeInstanceOf(XError);
    expect(o.location).toEqual({ object: "example", map: "m" });
    const l = new LoadError("LOAD_PROGRAM", "refused", { object: "example", program: "p", command: "BPF_PROG_LOAD", errnoName: "EACCES", log: "R0 !read_ok" });
    expect(l).toBeInstanceOf(XError);
    expect(l.location).toEqual({ object: "example", program: "p" });
    expect(l).toMatchObject({ command: "BPF_PROG_LOAD", errnoName: "EACCES", log: "R0 !read_ok" });
    expect(l).not.toHaveProperty("program");
  });

  it("@x/cli: UsageError", async () => {
    const { UsageError } = await import("../../cli/src/args.js");
    const e = new UsageError("bad option");
    expect(e).toBeInstanceOf(XError);
    expect(e.code).toBe("USAGE");
  });
});

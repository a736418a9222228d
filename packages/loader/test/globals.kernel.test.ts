/**
 * globals.bpf.o through the kernel: values set by name before load are what the programs see
 * (BPF_PROG_TEST_RUN return values), program writes are visible through the live variables and
 * JS writes are seen by the next run, and `.rodata` is frozen and read-only as the KERNEL reports it.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type LoadedObject, ObjectError, openObject } from "@x/loader";
import { BpfSyscallError, MapFlags, mapInfo, mapLookup, mapUpdate, rawFd } from "@x/sys";
import { fixture, haveKernel, kernelValue } from "./kernel.js";

const PACKET = new Uint8Array(64);
const u32 = (n: number) => n >>> 0;

/** The kernel's own view of a map fd: /proc/self/fdinfo has `map_flags` and `frozen`. */
function fdinfo(fd: number): Record<string, string> {
  const text = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  return Object.fromEntries(text.split("\n").filter(Boolean).map((l) => l.split(/:\s+/, 2) as [string, string]));
}

function run(obj: LoadedObject, prog: string): number {
  return obj.program(prog).testRun({ data: PACKET }).retval;
}

describe.runIf(haveKernel)("globals.bpf.o: values set before load reach the program", () => {
  // read_config: MODE_OFF → 0; MODE_ON → cfg_u32; otherwise
  //   cfg_u32 + cfg_u8 + cfg_limits.rate + (cfg_bool ? 1 : 0) + cfg_name[0]
  it("defaults: the compiled-in configuration (MODE_AUTO) computes the sum from the C source", () => {
    using obj = openObject(fixture("globals")).load({ programs: ["read_config"] });
    // 0xdeadbeef + 200 + 1000 + 1 + 'g'
    expect(run(obj, "read_config")).toBe(u32(0xdeadbeef + 200 + 1000 + 1 + "g".charCodeAt(0)));
  });

  it("cfg_mode = MODE_ON (enum by name) returns cfg_u32 as set", () => {
    const spec = openObject(fixture("globals"));
    spec.set("cfg_mode", "MODE_ON");
    spec.set("cfg_u32", 123456);
    using obj = spec.load({ programs: ["read_config"] });
    expect(run(obj, "read_config")).toBe(123456);
  });

  it("enum, integer, struct field, char array and bool set by name are all used by the program", () => {
    const spec = openObject(fixture("globals"));
    spec.set("cfg_mode", "MODE_AUTO");
    spec.set("cfg_u32", 1000);
    spec.set("cfg_u8", 3);
    spec.set("cfg_limits.rate", 20);
    spec.set("cfg_name", "Zeta");
    spec.set("cfg_bool", false);
    using obj = spec.load({ programs: ["read_config"] });
    expect(run(obj, "read_config")).toBe(1000 + 3 + 20 + 0 + "Z".charCodeAt(0));
  });

  it("command-line text form (as xbpf --set) sets the same values", () => {
    const spec = openObject(fixture("globals"));
    spec.set("cfg_mode", "MODE_AUTO", { text: true });
    spec.set("cfg_u32", "0x10", { text: true });
    spec.set("cfg_u8", "1", { text: true });
    spec.set("cfg_limits.rate", "2", { text: true });
    spec.set("cfg_bool", "true", { text: true });
    spec.set("cfg_name", "a", { text: true }); // char arrays take the raw text
    using obj = spec.load({ programs: ["read_config"] });
    expect(run(obj, "read_config")).toBe(0x10 + 1 + 2 + 1 + "a".charCodeAt(0));
  });

  it("MODE_OFF by name returns 0; a whole struct set by value keeps the program's view consistent", () => {
    const spec = openObject(fixture("globals"));
    spec.set("cfg_mode", "MODE_OFF");
    using off = spec.load({ programs: ["read_config"] });
    expect(run(off, "read_config")).toBe(0);

    const spec2 = openObject(fixture("globals"));
    spec2.set("cfg_limits", { kind: 9, rate: 5, burst: 1, window: 2n });
    spec2.set("cfg_u32", 0);
    spec2.set("cfg_u8", 0);
    spec2.set("cfg_name", "");
    using obj = spec2.load({ programs: ["read_config"] });
    expect(run(obj, "read_config")).toBe(5 + 1);
    // The kernel's copy of .rodata (read with BPF_MAP_LOOKUP_ELEM) holds the struct at its BTF offset.
    const ro = kernelValue(obj, ".rodata");
    const off48 = obj.variable("cfg_limits").offset;
    expect(ro.getUint8(off48)).toBe(9);
    expect(ro.getUint32(off48 + 4, true)).toBe(5);
  });
});

describe.runIf(haveKernel)("globals.bpf.o: live variables after load", () => {
  it("program writes to .data, .bss and .data.custom are visible through mmap'd variables", () => {
    using obj = openObject(fixture("globals")).load({ programs: ["update_state", "read_custom"] });
    for (const sec of [".data", ".bss", ".data.custom", ".rodata", ".rodata.custom"]) expect(obj.map(sec).access, sec).toBe("mmap");
    // .rodata.str1.1 has no DATASEC variables: libbpf does not mmap it either.
    expect(obj.map(".rodata.str1.1").access).toBe("syscall");

    // update_state returns global_helper(custom_data) = (11 + 1) + custom_ro (22)
    expect(run(obj, "update_state")).toBe(12 + 22);
    expect(obj.variable("data_counter").get()).toBe(43n);
    expect(obj.variable("bss_hits").get()).toBe(1n);
    expect(obj.variable("bss_last_len").get()).toBe(PACKET.length);
    const buf = obj.variable("bss_buf").raw();
    expect([buf[0], buf[31]]).toEqual(["x".charCodeAt(0), "y".charCodeAt(0)]);
    expect(obj.variable("custom_data").get()).toBe(12);
    expect(obj.variable("data_array").get()).toEqual([1, -2, 3, -1]);
    // mix(9, 43) = 9 * 31 + 43 + static_data (77)
    expect((obj.variable("data_limits").get() as { window: bigint }).window).toBe(9n * 31n + 43n + 77n);
    expect(obj.variable("static_bss").get()).toBe(1n);

    // The mmap'd view and the kernel's BPF_MAP_LOOKUP_ELEM agree.
    expect(kernelValue(obj, ".data").getBigUint64(obj.variable("data_counter").offset, true)).toBe(43n);
    expect(kernelValue(obj, ".bss").getBigUint64(obj.variable("bss_hits").offset, true)).toBe(1n);
  });

  it("JS writes are seen by the next program run", () => {
    using obj = openObject(fixture("globals")).load({ programs: ["update_state", "read_custom"] });
    obj.variable("data_counter").set(1000n);
    // The kernel sees the write (syscall read, not our mapping)…
    expect(kernelValue(obj, ".data").getBigUint64(obj.variable("data_counter").offset, true)).toBe(1000n);
    run(obj, "update_state");
    // …and the program incremented the JS value.
    expect(obj.variable("data_counter").get()).toBe(1001n);

    obj.variable("custom_data").set(100);
    expect(run(obj, "read_custom")).toBe(22 + 100);
    // update_state: custom_data = 101, returns 101 + 22
    expect(run(obj, "update_state")).toBe(101 + 22);

    obj.variable("data_array").set([10, 20, 0, 0]);
    run(obj, "update_state");
    expect(obj.variable("data_array").get()).toEqual([10, 20, 0, 30]);
  });

  it("a .bss value set before load is the kernel's initial value", () => {
    const spec = openObject(fixture("globals"));
    spec.set("bss_hits", 41n);
    using obj = spec.load({ programs: ["update_state"] });
    run(obj, "update_state");
    expect(obj.variable("bss_hits").get()).toBe(42n);
  });
});

describe.runIf(haveKernel)("globals.bpf.o: frozen .rodata", () => {
  it("the kernel refuses BPF_MAP_UPDATE_ELEM on the .rodata map with EPERM", () => {
    using obj = openObject(fixture("globals")).load({ programs: ["read_config"] });
    for (const name of [".rodata", ".rodata.custom", ".rodata.str1.1"]) {
      const m = obj.map(name);
      let error: unknown;
      try {
        mapUpdate(m.fd, new Uint8Array(4), new Uint8Array(m.spec.valueSize));
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(BpfSyscallError);
      expect((error as BpfSyscallError).errnoName, name).toBe("EPERM");
    }
    // The writable sections are not frozen: the same call succeeds.
    const data = obj.map(".data");
    const value = new Uint8Array(data.spec.valueSize);
    mapLookup(data.fd, new Uint8Array(4), value);
    expect(() => mapUpdate(data.fd, new Uint8Array(4), value)).not.toThrow();
  });

  it("map info and fdinfo: BPF_F_RDONLY_PROG set and frozen for .rodata*, neither for .data/.bss", () => {
    using obj = openObject(fixture("globals")).load({ programs: ["read_config"] });
    for (const m of obj.maps.values()) {
      if (!m.spec.section) continue;
      const ro = m.spec.section.startsWith(".rodata");
      const info = mapInfo(m.fd);
      expect(!!(info.flags & MapFlags.BPF_F_RDONLY_PROG), m.name).toBe(ro);
      const fdi = fdinfo(rawFd(m.fd));
      expect(Number(fdi.frozen), m.name).toBe(ro ? 1 : 0);
      expect(Number(fdi.map_flags), m.name).toBe(info.flags);
    }
  });

  it("our variable API refuses writes to .rodata after load with OBJECT_READ_ONLY, leaving the value alone", () => {
    using obj = openObject(fixture("globals")).load({ programs: ["read_config"] });
    const v = obj.variable("cfg_u32");
    expect(v.readOnly).toBe(true);
    let error: unknown;
    try {
      v.set(1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ObjectError);
    expect((error as ObjectError).code).toBe("OBJECT_READ_ONLY");
    expect(() => obj.variable("custom_ro").set(1)).toThrow(expect.objectContaining({ code: "OBJECT_READ_ONLY" }));
    expect(() => obj.variable("cfg_limits").setField(["rate"], 1)).toThrow(expect.objectContaining({ code: "OBJECT_READ_ONLY" }));
    // Reads still work, and the kernel's copy is untouched.
    expect(v.get()).toBe(0xdeadbeef);
    expect(kernelValue(obj, ".rodata").getUint32(v.offset, true)).toBe(0xdeadbeef);
  });
});

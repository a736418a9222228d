/**
 * Failure paths and cleanup: a verifier rejection closes everything the load made (1000 times
 * over), a failure in the middle of a multi-program object leaves no fds, and a disposed object
 * refuses variable access with OBJECT_DISPOSED instead of touching unmapped memory.
 */
import { describe, expect, it, vi } from "vitest";
import { LoadError, ObjectError, openObject, type Variable } from "@x/loader";
import { BpfSyscallError, fdStats, mapGetFdById, mapGetNextId, mapInfo, mappingCount, progGetFdById, progGetNextId, progInfo } from "@x/sys";
import { fixture, haveKernel, openFds } from "./kernel.js";

const PACKET = new Uint8Array(64);

function loadError(f: () => unknown): LoadError {
  try {
    f();
  } catch (e) {
    if (e instanceof LoadError) return e;
    throw e;
  }
  throw new Error("expected the load to fail");
}

describe.runIf(haveKernel)("failed loads leak nothing", () => {
  it("1000 rejected loads: each throws LoadError LOAD_PROGRAM with the verifier log; fd count unchanged", () => {
    const spec = openObject(fixture("reject"));
    const before = openFds();
    const handles = fdStats().open;
    for (let i = 0; i < 1000; i++) {
      const e = loadError(() => spec.load({ programs: ["oob_read"] }));
      expect(e.code).toBe("LOAD_PROGRAM");
      expect(e.location.program).toBe("oob_read");
      expect(e.command).toBe("BPF_PROG_LOAD");
      expect(e.errnoName).toBe("EACCES");
      expect(e.log).toMatch(/invalid access to packet/);
    }
    expect(openFds()).toBe(before);
    expect(fdStats().open).toBe(handles);
  });

  it("a failure in the middle of a multi-program object closes the maps, BTF and the program loaded before it", () => {
    const spec = openObject(fixture("reject"));
    expect(spec.programs.map((p) => p.name)).toEqual(["accept_all", "oob_read", "after_reject"]);
    const before = openFds();
    const handles = fdStats().open;
    const mappings = mappingCount();
    const e = loadError(() => spec.load());
    expect(e.location.program).toBe("oob_read");
    expect(openFds()).toBe(before);
    expect(fdStats().open).toBe(handles);
    expect(mappingCount()).toBe(mappings);
  });

  it("the kernel frees every program and map of a failed load (enumerated with GET_NEXT_ID)", async () => {
    // Only this file loads reject.bpf.o, so its objects are recognisable by name in the kernel.
    // The kernel frees a program after an RCU grace period and only then drops its maps, so wait.
    const ours = () => ({ progs: kernelObjects("prog", ["accept_all", "oob_read", "after_reject"]), maps: kernelObjects("map", ["reject.bss", "reject.rodata"]) });
    const none = { progs: [], maps: [] };
    await vi.waitFor(() => expect(ours()).toEqual(none), { timeout: 10_000, interval: 50 });
    loadError(() => openObject(fixture("reject")).load());
    await vi.waitFor(() => expect(ours()).toEqual(none), { timeout: 10_000, interval: 50 });
    // Control: a successful load is visible the same way.
    using ok = openObject(fixture("reject")).load({ programs: ["accept_all"] });
    expect(ours().progs).toEqual([ok.program("accept_all").info().id]);
    expect(ours().maps.sort()).toEqual([ok.map(".bss").info().id, ok.map(".rodata").info().id].sort());
  });
});

/** Ids of the kernel's programs or maps whose name is in `names` (BPF_*_GET_NEXT_ID, GET_FD_BY_ID, info). */
function kernelObjects(kind: "prog" | "map", names: readonly string[]): number[] {
  const out: number[] = [];
  const next = kind === "prog" ? progGetNextId : mapGetNextId;
  for (let id = next(0); id !== undefined; id = next(id)) {
    try {
      using fd = kind === "prog" ? progGetFdById(id) : mapGetFdById(id);
      const name = kind === "prog" ? progInfo(fd).name : mapInfo(fd).name;
      if (names.includes(name)) out.push(id);
    } catch (e) {
      if (!(e instanceof BpfSyscallError && e.errnoName === "ENOENT")) throw e; // freed meanwhile
    }
  }
  return out;
}

describe.runIf(haveKernel)("dispose()", () => {
  it("variable access afterwards throws OBJECT_DISPOSED (never a segfault), and the fds are closed", () => {
    const handles = fdStats().open;
    const fds = openFds();
    const mappings = mappingCount();
    const obj = openObject(fixture("globals")).load({ programs: ["update_state"] });
    expect(fdStats().open).toBeGreaterThan(handles);
    expect(mappingCount()).toBeGreaterThan(mappings);
    const counter = obj.variable("data_counter");
    const big = obj.variable("bss_buf");
    obj.program("update_state").testRun({ data: PACKET });
    expect(counter.get()).toBe(43n);
    obj.dispose();
    obj.dispose(); // idempotent
    expect(obj.disposed).toBe(true);

    for (const access of [() => counter.get(), () => counter.set(1n), () => big.raw(), () => obj.variable("cfg_u32").get(), () => obj.variable("custom_data").set(1)]) {
      let error: unknown;
      try {
        access();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ObjectError);
      expect((error as ObjectError).code).toBe("OBJECT_DISPOSED");
    }
    expect(fdStats().open).toBe(handles);
    expect(openFds()).toBe(fds);
    expect(mappingCount()).toBe(mappings);
  });

  it("`using` disposes at the end of the block", () => {
    const fds = openFds();
    let counter: Variable;
    {
      using obj = openObject(fixture("big")).load();
      counter = obj.variable("atomic_counter");
      expect(counter.get()).toBe(0n);
    }
    expect(openFds()).toBe(fds);
    expect(() => counter.get()).toThrow(expect.objectContaining({ code: "OBJECT_DISPOSED" }));
  });
});

/**
 * Programs in the kernel from the outside: `listPrograms()` finds one @x loaded, and `openProgram()`
 * reads its metadata (`bpf_metadata_*` of .rodata and of the older .metadata section, both bound to
 * the program) and its globals, typed by the BTF the kernel holds, live in both directions.
 */
import { describe, expect, it } from "vitest";
import { listPrograms, openProgram, openObject } from "@x/loader";
import { bpffsDir, fixture, haveBpffs, haveKernel, openFds } from "./kernel.js";

const socketPacket = () => new Uint8Array(64);

describe.runIf(haveKernel)("listPrograms() and openProgram(): metadata.bpf.o loaded by @x", () => {
  it("lists the program with the kernel's id, type, tag and maps", () => {
    using obj = openObject(fixture("metadata")).load();
    const info = obj.program("meta").info();
    const p = listPrograms().find((x) => x.id === info.id)!;
    expect(p).toMatchObject({ name: "meta", typeName: "SOCKET_FILTER", tag: info.tag, btfId: info.btfId, gplCompatible: true });
    // Every data map, the bound .rodata and .metadata ones included.
    const ids = [...obj.maps.values()].map((m) => m.info().id).sort();
    expect([...p.mapIds].sort()).toEqual(ids);
    expect(Math.abs(p.loadedAt.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it("shows the metadata, prefix stripped, and every global with its section and C type", () => {
    using obj = openObject(fixture("metadata")).load();
    using live = openProgram(obj.program("meta").info().id);
    expect(Object.fromEntries([...live.metadata].map(([k, v]) => [k, v.get()]))).toEqual({ version: "1.2.3", build: 42, owner: "team-x" });
    const globals = Object.fromEntries([...live.variables].map(([k, v]) => [k, { section: v.section, type: v.cType, value: v.get() }]));
    expect(globals).toMatchObject({
      counter: { section: ".data", type: "__u64", value: 5n },
      step: { section: ".data", type: "__u32", value: 1 },
      runs: { section: ".bss", type: "__u32", value: 0 },
      bpf_metadata_version: { section: ".rodata", type: "const volatile char[6]" },
    });
    const frozen = Object.fromEntries(live.maps.map((m) => [m.section, m.frozen]));
    expect(frozen).toEqual({ ".rodata": true, ".metadata": true, ".data": false, ".bss": false });
  });

  it("globals are live: the program's writes are read, and a write is what the program uses next", () => {
    using obj = openObject(fixture("metadata")).load();
    const prog = obj.program("meta");
    using live = openProgram(prog.info().id);
    prog.testRun({ data: socketPacket() });
    expect(live.variable("counter").get()).toBe(6n);
    live.variable("step").set(10);
    prog.testRun({ data: socketPacket() });
    expect(obj.variable("counter").get()).toBe(16n);
    expect(live.variable("runs").get()).toBe(2);
    // A frozen section refuses the write: the kernel's EPERM, not a silent no-op.
    expect(() => live.variable("bpf_metadata_build").set(7)).toThrow(expect.objectContaining({ errnoName: "EPERM" }));
    expect(live.metadata.get("build")!.get()).toBe(42);
  });

  it.runIf(haveBpffs())("opens a program by its pinned path, and closes every fd it opened", () => {
    const { dir, remove } = bpffsDir("x-live");
    try {
      using obj = openObject(fixture("metadata")).load();
      obj.program("meta").pin(`${dir}/meta`);
      const before = openFds();
      const live = openProgram(`${dir}/meta`);
      expect(live.summary.name).toBe("meta");
      expect(live.variable("counter").get()).toBe(5n);
      live.dispose();
      expect(openFds()).toBe(before);
      expect(() => live.variable("counter").get()).toThrow(expect.objectContaining({ code: "OBJECT_DISPOSED" }));
      expect(() => openProgram(`${dir}/nothing`)).toThrow(expect.objectContaining({ errnoName: "ENOENT" }));
    } finally {
      remove();
    }
  });
});

// The load as a list of phases over one kernel seam, checked without a kernel: a fake kernel
// records every operation, so the order and the arguments of a whole load can be asserted.
import { describe, expect, it } from "vitest";
import { LOAD_PHASES, loadObject, openObject } from "@x/loader";
import { MapFlags, ProgType } from "@x/sys/abi";
import { decodeInstructions, PseudoLd } from "@x/reloc";
import { Btf } from "@x/btf";
import type { KernelBtfTypes } from "../src/load/kernel.js";
import { FakeKernel } from "./fake-kernel.js";
import { fixture } from "./fixtures.js";

const RODATA = ["globals.rodata", ".rodata.custom", ".rodata.str1.1"];
const PROGRAMS = ["read_config", "update_state", "strings", "read_custom"];

describe("load phases", () => {
  it("run in libbpf's order", () => {
    expect(LOAD_PHASES.map((p) => p.name)).toEqual([
      "check object", "probe", "resolve externs", "CO-RE", "struct_ops", "sanitise and load BTF", "create maps", "map arena", "write data",
      "fill map slots", "freeze read-only maps", "relocate", "load programs", "fill program arrays", "fill struct_ops", "bind maps", "map memory",
    ]);
  });

  it("load globals.bpf.o in exactly this order of kernel operations", () => {
    const k = new FakeKernel();
    using obj = loadObject(openObject(fixture("globals")), { kernel: k });
    expect(k.ops).toEqual([
      // probe: every feature the load decides on, before anything is created
      "probe prog_name", "probe btf", "probe btf_func", "probe btf_global_func", "probe btf_datasec", "probe btf_qmark_datasec",
      "probe btf_float", "probe btf_decl_tag", "probe btf_type_tag", "probe btf_enum64", "probe array_mmap", "probe rdonly_prog",
      "probe map_freeze", "probe global_data", "probe prog_bind_map",
      "btf_load",
      // .maps first, then data sections in ELF order (libbpf's order)
      "map_create counters", "map_create table", "map_create globals.rodata", "map_create globals.data", "map_create .data.custom",
      "map_create .rodata.custom", "map_create globals.bss", "map_create .rodata.str1.1",
      "map_update globals.rodata", "map_update globals.data", "map_update .data.custom", "map_update .rodata.custom",
      "map_update globals.bss", "map_update .rodata.str1.1",
      // frozen before the first program load, so the verifier sees constants
      ...RODATA.map((m) => `map_freeze ${m}`),
      ...PROGRAMS.map((p) => `prog_load ${p}`),
      ...PROGRAMS.flatMap((p) => RODATA.map((m) => `prog_bind_map ${p} ${m}`)),
      // .rodata.str1.1 has no DATASEC with a global variable: not mmapable (libbpf map_is_mmapable)
      "mmap globals.rodata ro", "mmap globals.data rw", "mmap .data.custom rw", "mmap .rodata.custom ro", "mmap globals.bss rw",
    ]);
    expect(obj.map(".rodata").access).toBe("mmap");
    expect(obj.map(".rodata.str1.1").access).toBe("syscall");
  });

  it("pass the maps' shape, flags, BTF ids and initial images", () => {
    const k = new FakeKernel();
    const spec = openObject(fixture("globals"));
    spec.set("cfg_u32", 7);
    using _obj = loadObject(spec, { kernel: k });
    const byName = new Map([...k.maps].map(([fd, o]) => [o.name, { fd, o }]));
    const rodata = byName.get("globals.rodata")!;
    expect(rodata.o.flags).toBe(MapFlags.BPF_F_RDONLY_PROG | MapFlags.BPF_F_MMAPABLE);
    expect(k.name(rodata.o.btfFd)).toBe("btf");
    expect(rodata.o.btfValueTypeId).toBe(spec.map(".rodata").btfValueTypeId);
    expect(k.values.get(rodata.fd)).toEqual(spec.map(".rodata").image);
    const v = spec.variable("cfg_u32");
    expect(new DataView(k.values.get(rodata.fd)!.buffer).getUint32(v.offset, true)).toBe(7);
    expect(byName.get(".rodata.str1.1")!.o.flags).toBe(MapFlags.BPF_F_RDONLY_PROG);
    expect(byName.get("globals.bss")!.o.flags).toBe(MapFlags.BPF_F_MMAPABLE);
    expect(byName.get("counters")!.o).toMatchObject({ keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
  });

  it("point ld_imm64s at the created maps, with func/line info against the loaded BTF", () => {
    const k = new FakeKernel();
    using _obj = loadObject(openObject(fixture("globals")), { kernel: k });
    const prog = [...k.programs.values()].find((o) => o.name === "read_config")!;
    expect(prog.type).toBe(ProgType.SCHED_CLS);
    expect(k.name(prog.progBtfFd)).toBe("btf");
    expect(prog.funcInfo?.bytes.byteLength).toBeGreaterThan(0);
    expect(prog.lineInfo?.bytes.byteLength).toBeGreaterThan(0);
    const refs = decodeInstructions(prog.insns, true)
      .filter((i) => i.code === 0x18 && (i.srcReg === PseudoLd.MAP_FD || i.srcReg === PseudoLd.MAP_VALUE))
      .map((i) => `${i.srcReg === PseudoLd.MAP_FD ? "map" : "value"} ${k.name(i.imm)}`);
    expect(new Set(refs)).toEqual(new Set(["map counters", "value globals.rodata"]));
  });

  it("adapt to what the kernel lacks: no mmapable arrays, no read-only program maps, no BTF", () => {
    const k = new FakeKernel({ array_mmap: false, rdonly_prog: false, btf: false });
    const warnings: string[] = [];
    using obj = loadObject(openObject(fixture("globals")), { kernel: k, warn: (w) => warnings.push(w) });
    expect(k.ops.filter((o) => o.startsWith("mmap") || o === "btf_load")).toEqual([]);
    for (const o of k.maps.values()) {
      expect(o.flags! & (MapFlags.BPF_F_MMAPABLE | MapFlags.BPF_F_RDONLY_PROG)).toBe(0);
      expect(o.btfFd).toBeUndefined();
    }
    expect(obj.map(".rodata").access).toBe("syscall");
    expect(warnings.join("\n")).toMatch(/no BTF support/);
  });

  it("stop before creating anything when the kernel lacks a feature the object needs", () => {
    const k = new FakeKernel({ map_freeze: false });
    expect(() => loadObject(openObject(fixture("globals")), { kernel: k })).toThrow(expect.objectContaining({ feature: "map_freeze" }));
    expect(k.ops.every((o) => o.startsWith("probe "))).toBe(true);
  });

  it("map-in-map.bpf.o: inner-map templates made and closed around each outer map, slots filled when their maps and programs exist", () => {
    const k = new FakeKernel();
    using _obj = loadObject(openObject(fixture("map-in-map")), { kernel: k });
    const ops = k.ops.filter((o) => /^(map_create|map_update|close|prog_load) /.test(o) && !/\.bss$/.test(o));
    expect(ops).toEqual([
      "map_create inner_a", "map_create inner_b",
      "map_create outer_array.inn", "map_create outer_array", "close outer_array.inn",
      "map_create outer_hash.inne", "map_create outer_hash", "close outer_hash.inne",
      "map_create jump",
      "map_update outer_array", "map_update outer_array", "map_update outer_hash",
      "prog_load leaf_a", "prog_load leaf_b", "prog_load lookup", "prog_load dispatch",
      "map_update jump", "map_update jump",
    ]);
    const outer = [...k.maps].find(([, o]) => o.name === "outer_array")![1];
    expect(k.name(outer.innerMapFd as number)).toBe("outer_array.inn");
    expect(k.maps.get(outer.innerMapFd as number)).toMatchObject({ keySize: 4, valueSize: 8, maxEntries: 4 });
  });

  it("an arena on a kernel without arenas: needs kernel ≥ 6.9, before anything is created", () => {
    const k = new FakeKernel({ arena: false }, { btf: [arenaKfuncs()] });
    expect(() => loadObject(openObject(fixture("arena")), { kernel: k })).toThrow(expect.objectContaining({
      name: "UnsupportedFeatureError", feature: "arena", minKernel: "6.9",
      message: expect.stringMatching(/map 'arena' is a BPF arena \(BPF_MAP_TYPE_ARENA\), which needs kernel ≥ 6\.9 \(arena maps\)/),
    }));
    expect(k.ops.every((o) => o.startsWith("probe "))).toBe(true);
  });

  it("metadata without BPF_PROG_BIND_MAP: the load goes on, and says the metadata is not bound", () => {
    const k = new FakeKernel({ prog_bind_map: false });
    const warnings: string[] = [];
    using _obj = loadObject(openObject(fixture("metadata")), { kernel: k, warn: (w) => warnings.push(w) });
    expect(k.ops.some((o) => o.startsWith("prog_bind_map"))).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/no BPF_PROG_BIND_MAP \(Linux 5\.10\).*\(bpf_metadata_owner, bpf_metadata_version, bpf_metadata_build\)/)]);
    // With the command, .rodata and .metadata are both bound.
    const k2 = new FakeKernel();
    using _obj2 = loadObject(openObject(fixture("metadata")), { kernel: k2 });
    expect(k2.ops.filter((o) => o.startsWith("prog_bind_map"))).toEqual(["prog_bind_map meta metadata.rodata", "prog_bind_map meta metada.metadata"]);
  });

  it("stop before creating anything when a probe cannot tell", () => {
    const k = new FakeKernel({ array_mmap: "unknown" });
    expect(() => loadObject(openObject(fixture("globals")), { kernel: k })).toThrow(/cannot tell whether it has array_mmap/);
    expect(k.ops.every((o) => o.startsWith("probe "))).toBe(true);
  });

  it("close everything a failed load made, newest first, and name the object", () => {
    const k = new FakeKernel();
    k.failOn = "prog_load strings";
    let error: unknown;
    try {
      loadObject(openObject(fixture("globals")), { kernel: k });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "LOAD_PROGRAM", location: { object: "globals", program: "strings" } });
    expect(k.open.size).toBe(0);
    const closes = k.ops.slice(k.ops.indexOf("prog_load strings") + 1);
    expect(closes).toEqual([
      "close update_state", "close read_config", "close .rodata.str1.1", "close globals.bss", "close .rodata.custom",
      "close .data.custom", "close globals.data", "close globals.rodata", "close table", "close counters", "close btf",
    ]);
  });

  it("reuse the linked programs and prepared BTF of a spec across loads, and nothing else", () => {
    const spec = openObject(fixture("globals"));
    const a = new FakeKernel();
    const b = new FakeKernel();
    loadObject(spec, { kernel: a }).dispose();
    spec.set("cfg_u32", 9);
    loadObject(spec, { kernel: b }).dispose();
    expect(b.ops.filter((o) => !o.startsWith("close") && !o.startsWith("munmap"))).toEqual(a.ops.filter((o) => !o.startsWith("close") && !o.startsWith("munmap")));
    expect(spec.linked("read_config")).toBe(spec.linked("read_config"));
    const rodata = (k: FakeKernel) => [...k.maps].find(([, o]) => o.name === "globals.rodata")![0];
    expect(b.values.get(rodata(b))).not.toEqual(a.values.get(rodata(a)));
  });

  // Where libbpf puts arena globals (arena_data_off), checked on both kinds of kernel: the
  // matrix runs the same on real ones (6.12: at the start; 7.3: at the end).
  it.each([
    [false, 0],
    [true, 15 * 4096],
  ])("arena.bpf.o with full-range ld_imm64 offsets %s: the globals at %d, copied in and relocated there", (fullRange, at) => {
    const k = new FakeKernel({ ldimm64_full_range_off: fullRange }, { btf: [arenaKfuncs()] });
    const spec = openObject(fixture("arena"));
    using obj = loadObject(spec, { kernel: k });
    expect(k.ops.filter((o) => /arena|grow|ldimm64/.test(o) && !/arena\.bss/.test(o))).toEqual(["probe arena", "probe ldimm64_full_range_off", "map_create arena", "mmap arena arena 65536 at 0x100000000000", "prog_load grow"]);
    // No map update for the arena: its image goes in through the mapping.
    expect(k.ops.some((o) => o === "map_update arena")).toBe(false);
    expect(obj.arena!.dataOffset).toBe(at);
    expect(obj.variable("arena_counter").get()).toBe(100n);
    const prog = [...k.programs.values()].find((p) => p.name === "grow")!;
    const insns = decodeInstructions(prog.insns, true);
    const arenaFd = [...k.maps].find(([, o]) => o.name === "arena")![0];
    const refs = insns.flatMap((insn, i) => (insn.srcReg === PseudoLd.MAP_VALUE && insn.imm === arenaFd ? [insns[i + 1]!.imm] : []));
    const v = (name: string) => spec.variable(name).offset;
    expect(refs.sort((a, b) => a - b)).toEqual([at + v("arena_counter"), at + v("arena_head")].sort((a, b) => a - b));
  });
});

/** A vmlinux BTF with the arena's kfunc: `void *bpf_arena_alloc_pages(void *map, void *addr, u32 page_cnt, int node_id, u64 flags)`. */
function arenaKfuncs(): KernelBtfTypes {
  const btf = new Btf();
  const u32 = btf.add({ kind: "INT", name: "unsigned int", size: 4, encoding: 0, offset: 0, bits: 32 });
  const int = btf.add({ kind: "INT", name: "int", size: 4, encoding: 1, offset: 0, bits: 32 });
  const u64 = btf.add({ kind: "INT", name: "long long unsigned int", size: 8, encoding: 0, offset: 0, bits: 64 });
  const voidp = btf.add({ kind: "PTR", name: "", type: 0 });
  const proto = btf.add({ kind: "FUNC_PROTO", name: "", returnType: voidp, params: [{ name: "p__map", type: voidp }, { name: "addr__ign", type: voidp }, { name: "page_cnt", type: u32 }, { name: "node_id", type: int }, { name: "flags", type: u64 }] });
  const fn = btf.add({ kind: "FUNC", name: "bpf_arena_alloc_pages", type: proto, linkage: "global" });
  return { name: "vmlinux", id: 0, btf, find: (n, kind) => (kind === "FUNC" && n === "bpf_arena_alloc_pages" ? fn : undefined) };
}

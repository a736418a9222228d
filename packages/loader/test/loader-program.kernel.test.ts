/**
 * Loader programs against direct loads: the same maps (type, sizes, flags, BTF, frozen), the same
 * programs (xlated instructions with map ids normalised, func/line info, bound maps) and the same
 * test-run results and globals, for every fixture that loads here; the run-time inputs (initial
 * values, max_entries) and the errors of a failed run.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkLoaderProgramSupport, generateLoaderProgram, type LoadedObject, loadObject, openObject, systemKernel } from "@x/loader";
import { LoaderProgramError, loaderProgramFromJson, loaderProgramToJson, mapInfo, mapLookup, MapType, ProgType, progInfo, progXlatedInsns, requireFeature, runLoaderProgram } from "@x/sys";
import { xlatedText } from "./xlated-text.js";
import { fixture, haveKernel, openFds, requireNfConntrack, withNfConntrackKfuncs } from "./kernel.js";

/** Fixtures that load directly on a current kernel without options (pinning, arena and struct_ops ones are refused: see below). */
const FIXTURES = [
  "big", "callbacks", "conntrack", "core", "example", "externs", "fields", "freplace-target", "globals", "hidden",
  "kfuncs", "legacy-maps", "loose-sections", "map-in-map", "maps", "metadata", "sections", "sk_lookup", "statics",
];

/** What a fixture needs of the kernel beyond a loader program (as its own kernel tests require). */
const PREREQUISITES: Record<string, () => void> = {
  // Kfunc calls from any program type, bpf_task_from_pid and the generic kfuncs came with 6.2.
  kfuncs: () => requireFeature("kfunc_call"),
  conntrack: requireNfConntrack,
};

const frozen = (fd: number) => /^frozen:\s*1$/m.test(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));

/** A load as the kernel shows it, ids replaced by names so that two loads compare. */
function kernelView(obj: LoadedObject) {
  const names = new Map<number, string>();
  const maps = [...obj.maps].map(([name, m]) => {
    const i = mapInfo(m.fd);
    names.set(i.id, name);
    return { name, kernelName: i.name, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.flags, btf: i.btfId !== 0, btfKeyTypeId: i.btfKeyTypeId, btfValueTypeId: i.btfValueTypeId, frozen: frozen(m.fd.fd) };
  });
  const programs = [...obj.programs].map(([name, p]) => {
    const i = progInfo(p.fd);
    return {
      name, kernelName: i.name, type: i.type, gpl: i.gplCompatible, funcInfo: i.nrFuncInfo, lineInfo: i.nrLineInfo, btf: i.btfId !== 0,
      maps: i.mapIds.map((id) => names.get(id) ?? `foreign map ${id}`).sort(),
      xlated: xlatedText(progXlatedInsns(p.fd), names),
    };
  });
  return { maps, programs };
}


const PACKET = Uint8Array.from({ length: 64 }, (_, i) => (i === 12 ? 0x08 : i === 14 ? 0x45 : i === 23 ? 17 : (i * 7) & 0xff));
/** Ethernet + IPv4 + UDP to port 8080 (the loader README's packet). */
const UDP_TO_8080 = Buffer.from("ffffffffffff00000000000108004500001c0000400040110000c0a80001c0a80002303a1f9000080000", "hex");
const RUNNABLE = new Set<number>([ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.XDP]);

/** Test-run every program that takes a packet, then read every data section back through the kernel. */
function behaviour(obj: LoadedObject) {
  const runs = [...obj.programs].filter(([, p]) => RUNNABLE.has(p.spec.kind!.progType)).map(([name, p]) => [name, p.testRun({ data: PACKET }).retval]);
  const data = [...obj.maps].filter(([, m]) => m.spec.section && m.spec.type === MapType.ARRAY).map(([name, m]) => {
    const v = new Uint8Array(m.spec.valueSize);
    mapLookup(m.fd, new Uint8Array(4), v);
    return [name, Buffer.from(v).toString("hex")];
  });
  return { runs, data };
}

describe.runIf(haveKernel)("loader programs: the same load as a direct one", () => {
  for (const name of FIXTURES) {
    it(`${name}.bpf.o: same maps, xlated instructions, test runs and globals`, () => {
      checkLoaderProgramSupport(systemKernel);
      PREREQUISITES[name]?.();
      const bytes = readFileSync(fixture(name));
      using direct = name === "conntrack" ? withNfConntrackKfuncs(() => loadObject(openObject(bytes, { name }))) : loadObject(openObject(bytes, { name }));
      using replayed = loadObject(openObject(bytes, { name }), { loaderProgram: true });
      expect(kernelView(replayed)).toEqual(kernelView(direct));
      expect(behaviour(replayed)).toEqual(behaviour(direct));
    });
  }

  it("globals set before generating are the loader program's defaults; live variables work after the run", () => {
    checkLoaderProgramSupport(systemKernel);
    const spec = openObject(fixture("example"));
    spec.set("cfg.blocked_port", 8080);
    using obj = loadObject(spec, { loaderProgram: true });
    expect(obj.variable("cfg").get()).toMatchObject({ blocked_port: 8080 });
    expect(obj.program("classify").testRun({ data: UDP_TO_8080 }).retval).toBe(2); // TC_ACT_SHOT: the config took
    const seen = obj.variable("packets_seen");
    seen.set(41n);
    obj.program("classify").testRun({ data: UDP_TO_8080 });
    expect(seen.get()).toBe(42n);
  });

  it("a run takes initial values and max_entries from its context; the JSON form runs the same", () => {
    checkLoaderProgramSupport(systemKernel);
    const spec = openObject(fixture("example"));
    const lp = loaderProgramFromJson(loaderProgramToJson(generateLoaderProgram(spec)));
    const rodata = lp.maps.find((m) => m.section === ".rodata")!;
    expect(rodata).toMatchObject({ frozen: true, initialValueSize: rodata.valueSize });
    spec.set("cfg.blocked_port", 4242);
    const image = spec.maps.find((m) => m.section === ".rodata")!.image!;
    const other = lp.maps.find((m) => m.type === MapType.HASH || m.type === MapType.LRU_HASH);
    using run = runLoaderProgram(lp, { maps: { ".rodata": { initialValue: image }, ...(other ? { [other.name]: { maxEntries: 77 } } : {}) } });
    const value = new Uint8Array(rodata.valueSize);
    mapLookup(run.maps.get(rodata.name)!, new Uint8Array(4), value);
    expect(Buffer.from(value).equals(Buffer.from(image))).toBe(true);
    if (other) expect(mapInfo(run.maps.get(other.name)!).maxEntries).toBe(77);
    expect(frozen(run.maps.get(rodata.name)!)).toBe(true);
  });

  it("a verifier rejection is reported as by a direct load, with the log; nothing stays open", () => {
    checkLoaderProgramSupport(systemKernel);
    const bytes = readFileSync(fixture("reject"));
    const direct = catchError(() => loadObject(openObject(bytes, { name: "reject" })));
    const fds = openFds();
    const replayed = catchError(() => loadObject(openObject(bytes, { name: "reject" }), { loaderProgram: true }));
    expect(openFds()).toBe(fds);
    expect(replayed).toMatchObject({ code: direct.code, location: direct.location, command: "BPF_PROG_LOAD", errnoName: direct.errnoName });
    expect(replayed.message.split("\n")[0]).toBe(direct.message.split("\n")[0]);
    expect(lastLines(replayed.log)).toEqual(lastLines(direct.log));
  });

  it("a map the kernel refuses names the map and the command; nothing stays open", () => {
    checkLoaderProgramSupport(systemKernel);
    const lp = generateLoaderProgram(openObject(fixture("example")));
    const fds = openFds();
    const e = catchError(() => runLoaderProgram(lp, { maps: { ".rodata": { maxEntries: 0xffffffff } } }));
    expect(openFds()).toBe(fds);
    expect(e).toBeInstanceOf(LoaderProgramError);
    expect(e).toMatchObject({ code: "LOADER_PROGRAM_STEP", command: "BPF_MAP_CREATE", stepInfo: { map: "example.rodata" } });
    expect(e.message).toMatch(/^map 'example\.rodata': BPF_MAP_CREATE failed: E[A-Z0-9]+ /);
  });

  it("inputs that do not fit are refused before anything is created", () => {
    checkLoaderProgramSupport(systemKernel);
    const lp = generateLoaderProgram(openObject(fixture("example")));
    expect(() => runLoaderProgram(lp, { maps: { nope: { maxEntries: 1 } } })).toThrow(/creates no map 'nope'/);
    expect(() => runLoaderProgram(lp, { maps: { ".rodata": { initialValue: new Uint8Array(1) } } })).toThrow(/must be \d+ bytes, not 1/);
  });

  it("what a loader program cannot replay is refused when generating, with the reason", () => {
    expect(() => generateLoaderProgram(openObject(fixture("pinned")))).toThrow(/cannot be replayed by a loader program: .*BPF_OBJ_GET/);
    expect(() => generateLoaderProgram(openObject(fixture("struct-ops")))).toThrow(/struct_ops.*cannot be replayed by a loader program/);
  });
});

function catchError(f: () => unknown): Error & { code: string; location: unknown; command?: string; errnoName?: string; log?: string } {
  try {
    f();
  } catch (e) {
    return e as never;
  }
  throw new Error("expected an error");
}

const lastLines = (log: string | undefined) => (log ?? "").trimEnd().split("\n").filter((l) => !/^processed \d+ insns|^verification time/.test(l)).slice(-3);

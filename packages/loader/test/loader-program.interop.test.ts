/**
 * Loader programs against libbpf's light skeletons: for each fixture, what `bpftool gen skeleton -L`
 * and skel_internal.h create (read by a small C harness, test/c/lskel-harness.c) equals what our
 * loader program creates: the same maps (type, sizes, flags, BTF, frozen) and the same xlated
 * instructions, map ids normalised to map names.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type LoadedObject, loadObject, openObject } from "@x/loader";
import { MapFlags, mapInfo, progInfo, progXlatedInsns } from "@x/sys";
import { fixture } from "./kernel.js";
import { bpftool, haveReference } from "./reference.js";

/** Fixtures Debian's bpftool (libbpf 1.1) makes light skeletons of (it refuses legacy maps, and map-in-map initial slots). */
const FIXTURES = ["example", "globals", "maps", "callbacks", "kfuncs", "core", "metadata", "big", "conntrack", "externs", "statics", "fields", "sk_lookup"];
const HARNESS = fileURLToPath(new URL("./c/lskel-harness.c", import.meta.url));

/**
 * The light skeleton header of `object`, with what the harness does not need taken out: the typed
 * views of data sections (their C types are the BPF program's, not in any header here) and the
 * static asserts on them.
 */
function lightSkeleton(object: string, name: string): string {
  let h = execFileSync("bpftool", ["gen", "skeleton", "-L", object, "name", name], { encoding: "utf8", maxBuffer: 64 << 20 });
  h = h.replace(/struct (\w+__\w+) \{[^{}]*\} \*(\w+);/g, "struct $1 *$2;");
  const at = h.indexOf(`${name}__assert(struct ${name} *s`);
  if (at >= 0) h = h.slice(0, h.lastIndexOf("\n", h.lastIndexOf("\n", at) - 1) + 1) + h.slice(h.indexOf("\n}\n", at) + 3);
  return h;
}

const dir = haveReference ? mkdtempSync(join(tmpdir(), "xbpf-lskel-")) : "";
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Build the harness for `name`'s light skeleton and run it: what libbpf's loader program made. */
function libbpfLightSkeleton(name: string) {
  const skel = name.replace(/[^A-Za-z0-9_]/g, "_");
  const sub = mkdtempSync(join(dir, `${skel}-`));
  writeFileSync(join(sub, "lskel.h"), lightSkeleton(fixture(name), name));
  const exe = join(sub, "harness");
  execFileSync("gcc", ["-O2", "-Wall", `-DSKEL=${skel}`, `-I${sub}`, "-o", exe, HARNESS, "-lbpf"], { encoding: "utf8" });
  const r = spawnSync(exe, [], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`light skeleton of ${name}: ${r.stderr}`);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const names = new Map<number, string>(lines.filter((l) => l.map).map((l) => [l.id, l.map]));
  const maps = lines.filter((l) => l.map).map(({ id: _, map, ...rest }) => ({ name: map, ...rest }));
  const programs = lines.filter((l) => l.prog).map((l) => ({ name: l.prog, type: l.type, funcInfo: l.funcInfo, lineInfo: l.lineInfo, btf: l.btf, xlated: xlated(Buffer.from(l.xlated, "hex"), names) }));
  return { maps: byName(maps), programs: byName(programs) };
}

const frozen = (fd: number) => /^frozen:\s*1$/m.test(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));

/** Ours, in the harness's terms (kernel names). */
function ours(obj: LoadedObject) {
  const names = new Map<number, string>();
  const maps = [...obj.maps.values()].map((m) => {
    const i = mapInfo(m.fd);
    names.set(i.id, i.name);
    return { name: i.name, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.flags, btf: i.btfId !== 0, btfKeyTypeId: i.btfKeyTypeId, btfValueTypeId: i.btfValueTypeId, frozen: frozen(m.fd.fd) };
  });
  const programs = [...obj.programs.values()].map((p) => {
    const i = progInfo(p.fd);
    return { name: i.name, type: i.type, funcInfo: i.nrFuncInfo, lineInfo: i.nrLineInfo, btf: i.btfId !== 0, xlated: xlated(progXlatedInsns(p.fd), names) };
  });
  return { maps: byName(maps), programs: byName(programs) };
}

/** Whether bpftool's libbpf is older than major.minor ("using libbpf v1.1"). */
function libbpfBefore(major: number, minor: number): boolean {
  const m = /libbpf v(\d+)\.(\d+)/.exec(bpftool("version"));
  if (!m) throw new Error("cannot tell bpftool's libbpf version");
  return Number(m[1]) < major || (Number(m[1]) === major && Number(m[2]) < minor);
}

/**
 * What we expect of the light skeleton, from what the harness read, where libbpf's version is known
 * to differ from current libbpf (which we follow); each case says why.
 */
function expected(obj: LoadedObject, reference: ReturnType<typeof libbpfLightSkeleton>, direct: () => ReturnType<typeof ours>) {
  const old = libbpfBefore(1, 2);
  const maps = reference.maps.map((m) => {
    const spec = [...obj.maps.values()].find((x) => mapInfo(x.fd).name === m.name)?.spec;
    // libbpf before 1.2 made every internal map MMAPABLE; since commit 4fcac46c7e10 a section with
    // no non-static variable (.rodata.str1.1, a .data of statics only) is not.
    return old && spec?.section && !spec.mmapable ? { ...m, flags: m.flags & ~MapFlags.BPF_F_MMAPABLE } : m;
  });
  // libbpf's gen_loader before 1.2 looked up a kfunc named in an ld_imm64 (bpf_ksym_exists()) as a
  // VAR, found nothing and wrote 0 ("libbpf: Support kfunc detection in light skeleton" came with
  // 1.2); we resolve it as libbpf's direct load does, so the programs are our direct load's.
  const kfuncs = new Set(obj.spec.externs.filter((e) => e.kind === "kfunc").map((e) => e.name));
  const ksymExistsKfunc = [...obj.spec.relocations.values()].flat().some((r) => r.kind === "extern-ld64" && kfuncs.has(r.externName!));
  return { maps, programs: old && ksymExistsKfunc ? direct().programs : reference.programs };
}

const byName = <T extends { name: string }>(xs: T[]) => xs.sort((a, b) => a.name.localeCompare(b.name));

/** Xlated instructions as text, map ids as map names. */
function xlated(bytes: Uint8Array, names: ReadonlyMap<number, string>): string[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let i = 0; i < bytes.byteLength; i += 8) {
    const code = dv.getUint8(i), regs = dv.getUint8(i + 1);
    let off: string | number = dv.getInt16(i + 2, true);
    let imm: string | number = dv.getInt32(i + 4, true);
    if (code === 0x18 && ((regs >> 4) === 1 || (regs >> 4) === 2)) imm = `map ${names.get(imm) ?? `#${imm}`}`;
    // A module kfunc's off is its BTF's index in that load's own fd_array, which a loader program lays
    // out as libbpf's does (map slots first, then one slot per kfunc): module or vmlinux is what compares.
    if (code === 0x85 && regs >> 4 === 2) off = off === 0 ? "vmlinux" : "module";
    out.push(`${code.toString(16)} ${regs.toString(16)} ${off} ${imm}`);
  }
  return out;
}

describe.runIf(haveReference)("loader programs against libbpf's light skeletons (bpftool gen skeleton -L)", () => {
  for (const name of FIXTURES) {
    it(`${name}.bpf.o: the same maps and xlated instructions`, () => {
      const reference = libbpfLightSkeleton(name);
      using obj = loadObject(openObject(fixture(name)), { loaderProgram: true });
      const got = ours(obj);
      // libbpf skips a section it does not know (metadata.bpf.o's .metadata): the map is ours alone.
      const known = new Set(reference.maps.map((m) => m.name));
      const skipped = [...obj.maps.values()].filter((m) => m.spec.section === ".metadata").map((m) => mapInfo(m.fd).name);
      expect(got.maps.map((m) => m.name).filter((n) => !known.has(n))).toEqual(skipped);
      const want = expected(obj, reference, () => {
        using direct = loadObject(openObject(fixture(name)));
        return ours(direct);
      });
      expect({ maps: got.maps.filter((m) => known.has(m.name)), programs: got.programs }).toEqual(want);
    });
  }
});

/**
 * Loader programs against libbpf's light skeletons: for each fixture, what `bpftool gen skeleton -L`
 * and skel_internal.h create (read by a small C harness, tools/lskel/) equals what our
 * loader program creates: the same maps (type, sizes, flags, BTF, frozen) and the same xlated
 * instructions, map ids normalised to map names.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type LoadedObject, loadObject, openObject } from "@x/loader";
import { MapFlags, mapInfo, progInfo, progXlatedInsns } from "@x/sys";
import { xlatedText } from "./xlated-text.js";
import { fixture } from "./kernel.js";
import { bpftool, haveReference } from "./reference.js";
import { buildLightSkeleton } from "../../../tools/lskel/build.mjs";

/** Fixtures Debian's bpftool (libbpf 1.1) makes light skeletons of (it refuses legacy maps, and map-in-map initial slots). */
const FIXTURES = ["example", "globals", "maps", "callbacks", "kfuncs", "core", "metadata", "big", "conntrack", "externs", "statics", "fields", "sk_lookup"];
const dir = haveReference ? mkdtempSync(join(tmpdir(), "xbpf-lskel-")) : "";
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Build the harness for `name`'s light skeleton and run it: what libbpf's loader program made. */
function libbpfLightSkeleton(name: string) {
  const lines = buildLightSkeleton(fixture(name), name, dir).describe() as Record<string, any>[];
  const names = new Map<number, string>(lines.filter((l) => l.map).map((l) => [l.id, l.map]));
  const maps = lines.filter((l) => l.map).map(({ id: _, map, ...rest }) => ({ name: map as string, ...rest }) as { name: string; flags: number } & Record<string, unknown>);
  const programs = lines.filter((l) => l.prog).map((l) => ({ name: l.prog, type: l.type, funcInfo: l.funcInfo, lineInfo: l.lineInfo, btf: l.btf, xlated: xlatedText(Buffer.from(l.xlated, "hex"), names) }));
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
    return { name: i.name, type: i.type, funcInfo: i.nrFuncInfo, lineInfo: i.nrLineInfo, btf: i.btfId !== 0, xlated: xlatedText(progXlatedInsns(p.fd), names) };
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

// The kernel's CO-RE selftest cases as data plus objects (tools/core-reloc-cases.mjs, read through
// tools/test/core-reloc.ts): checks the extraction only; nothing is loaded into a kernel here.
// Needs Debian's linux-source-6.12, clang-19, gcc, libbpf-dev, bpftool and python3 unless the build is
// already in the machine cache: without them it is skipped with a warning, except in CI, where it fails.
// The first run on a machine builds (~15 s on 2 cores); later runs read the cache.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBtf, parseBtfExt } from "@x/btf";
import { ElfFile } from "@x/elf";
import { beforeAll, describe, expect, it } from "vitest";
import { type CoreRelocCase, coreRelocBuildDir, coreRelocPrerequisites, expectedOutput, loadCoreRelocCases } from "./test/core-reloc.js";

const problem = coreRelocPrerequisites();
if (problem && process.env.CI) throw new Error(`the CO-RE selftest cases cannot be built in CI: ${problem}. Refusing to skip silently.`);
if (problem) console.warn(`[tools] skipping the CO-RE selftest case checks: ${problem}`);

/** C source with comments blanked and line continuations joined. */
function cleanC(src: string): string {
  return src
    .replace(/("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m, lit: string | undefined) => lit ?? m.replace(/[^\n]/g, " "))
    .replace(/\\\n/g, " ");
}

/** Splits at the commas outside any (), {} or []. */
function topLevelItems(s: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if ("({[".includes(ch)) depth++;
    if (")}]".includes(ch)) depth--;
    if (ch === "," && depth === 0) {
      items.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  items.push(cur.trim());
  return items.filter(Boolean);
}

/**
 * The number of entries of `test_cases[]`, read from core_reloc.c's text, independently of the
 * compiled harness: a `{ … }` is one entry, a macro as many as its definition has top-level `{ … }`
 * (BITFIELDS_CASE is two: probed and direct).
 */
function countTestCases(coreRelocC: string): number {
  const src = cleanC(coreRelocC);
  const groups = new Map<string, number>();
  for (const m of src.matchAll(/^#define\s+(\w+)\([^)]*\)(.*)$/gm)) {
    let depth = 0;
    let n = 0;
    for (const ch of m[2]!) {
      if (ch === "{" && depth++ === 0) n++;
      if (ch === "}") depth--;
    }
    groups.set(m[1]!, n);
  }
  const open = src.indexOf("{", src.indexOf("test_cases[] = {"));
  let depth = 0;
  let close = open;
  for (; close < src.length; close++) {
    if (src[close] === "{") depth++;
    else if (src[close] === "}" && --depth === 0) break;
  }
  let count = 0;
  for (const item of topLevelItems(src.slice(open + 1, close))) {
    if (item.startsWith("{")) count++;
    else {
      const name = /^(\w+)\s*\(/.exec(item)?.[1];
      const n = name === undefined ? undefined : groups.get(name);
      if (!n) throw new Error(`test_cases[]: cannot count "${item.slice(0, 60)}"`);
      count += n;
    }
  }
  return count;
}

describe.skipIf(!!problem)("the kernel's CO-RE selftest cases (tools/core-reloc-cases.mjs)", () => {
  let dir = "";
  let cases: CoreRelocCase[] = [];
  let manifest: { source: { top: string; kernelVersion: string }; objects: Record<string, { sha256: string }> };
  const elf = new Map<string, ElfFile>();
  const parsed = (path: string) => {
    let f = elf.get(path);
    if (!f) elf.set(path, (f = ElfFile.parse(readFileSync(path))));
    return f;
  };

  beforeAll(() => {
    dir = coreRelocBuildDir();
    cases = loadCoreRelocCases();
    manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  }, 600_000);

  it("has every entry of core_reloc.c's test_cases[], in order, with unique names", () => {
    const coreRelocC = readFileSync(join(dir, "src", manifest.source.top, "tools/testing/selftests/bpf/prog_tests/core_reloc.c"), "utf8");
    const count = countTestCases(coreRelocC);
    expect(count).toBeGreaterThan(0);
    expect(cases.length).toBe(count);
    const json = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as { count: number };
    expect(json.count, "ARRAY_SIZE(test_cases) as the compiled harness saw it").toBe(count);
    expect(cases.map((c) => c.index)).toEqual(cases.map((_, i) => i));
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(manifest.source.kernelVersion).toMatch(/^6\.12\.\d+$/);
  });

  it("compiled every BPF object: the program in its section, CO-RE relocations in .BTF.ext", () => {
    for (const object of new Set(cases.map((c) => c.object))) {
      const f = parsed(object);
      const btf = f.section(".BTF");
      const ext = f.section(".BTF.ext");
      expect(btf, `${object}: .BTF`).toBeDefined();
      expect(ext, `${object}: .BTF.ext`).toBeDefined();
      const relos = parseBtfExt(ext!.data, btf!.data).coreRelos;
      const n = relos?.sections.reduce((a, s) => a + s.records.length, 0) ?? 0;
      expect(n, `${object}: CO-RE relocations`).toBeGreaterThan(0);
      for (const c of cases.filter((x) => x.object === object)) {
        expect(c.coreRelos, `${c.name}: coreRelos`).toBe(n);
        const sec = f.section(c.section);
        expect(sec, `${c.name}: section ${c.section}`).toBeDefined();
        const sym = f.symbol(c.program);
        expect(sym?.sectionIndex, `${c.name}: ${c.program} in ${c.section}`).toBe(sec!.index);
        expect(relos!.sections.some((s) => s.section === c.section), `${c.name}: relocations for ${c.section}`).toBe(true);
      }
    }
    // every object of the manifest is one the cases use, and nothing else was built
    const used = new Set(cases.flatMap((c) => [c.object, c.targetBtf].filter((p): p is string => p !== null)));
    expect(new Set(Object.keys(manifest.objects).map((o) => join(dir, "obj", o)))).toEqual(used);
  });

  it("built every target-BTF object the cases name, each with types in its .BTF", () => {
    const targets = cases.filter((c) => c.targetBtf !== null);
    expect(targets.length).toBeGreaterThan(0);
    for (const c of targets) {
      const btf = parsed(c.targetBtf!).section(".BTF");
      expect(btf, `${c.targetBtf}: .BTF`).toBeDefined();
      expect(parseBtf(btf!.data).types.length, `${c.targetBtf}: types`).toBeGreaterThan(1);
      expect(c.targetBtfSource).toBe("file");
    }
    for (const c of cases.filter((x) => x.targetBtf === null)) expect(c.targetBtfSource).toBe(c.needsTestmod ? "kernel-modules" : "vmlinux");
  });

  it("input and expected output sizes are consistent", () => {
    for (const c of cases) {
      expect(c.input.length, `${c.name}: input fits data.in`).toBeLessThanOrEqual(256);
      if (c.fails) {
        expect(c.output, `${c.name}: a fail-case has no expected output`).toBeNull();
        continue;
      }
      expect(c.output, `${c.name}: expected output`).not.toBeNull();
      expect(c.output!.length, `${c.name}: output is sizeof(struct ${c.outputType})`).toBe(c.outputLayout.size);
      expect(c.output!.length).toBeLessThanOrEqual(256);
      let end = 0;
      for (const f of c.outputLayout.fields) {
        expect(f.offset, `${c.name}: ${c.outputType}.${f.name} after the previous member`).toBeGreaterThanOrEqual(end);
        end = f.offset + f.size;
      }
      expect(end).toBeLessThanOrEqual(c.outputLayout.size);
      expect(c.dataFields.slice(0, 2)).toEqual(["in", "out"]);
    }
  });

  it("flags: fail-cases, module cases, the kernel case, how each one runs", () => {
    const fails = cases.filter((c) => c.fails);
    expect(fails.length).toBeGreaterThan(0);
    for (const c of fails) expect(c.run).toBe("load-fails");
    const modules = cases.filter((c) => c.needsTestmod);
    expect(modules.map((c) => c.run)).toEqual(modules.map(() => "unsupported"));
    const kernel = cases.filter((c) => c.targetBtfSource === "vmlinux");
    expect(kernel.map((c) => c.name)).toEqual(["kernel"]);
    expect(kernel[0]!.dataFields).toContain("my_pid_tgid");
    for (const c of cases.filter((x) => x.run === "attach")) expect(c.section).toMatch(/^tp_btf\//);
    for (const c of cases.filter((x) => x.run === "test-run")) {
      expect(c.section).toMatch(/^raw_(tracepoint|tp)\//);
      expect(c.rawTpName).not.toBeNull();
    }
    expect(cases.some((c) => c.relaxedCoreRelocs)).toBe(false);
  });

  it("the kernel case's expected output follows the running task's comm", () => {
    const kernel = cases.find((c) => c.name === "kernel")!;
    expect(expectedOutput(kernel, "test_progs")).toEqual(kernel.output);
    const mine = expectedOutput(kernel, "node");
    const comm = kernel.outputLayout.fields.find((f) => f.name === "comm")!;
    const len = kernel.outputLayout.fields.find((f) => f.name === "comm_len")!;
    expect(Buffer.from(mine.subarray(comm.offset, comm.offset + comm.size)).toString("latin1")).toBe("node\0\0\0\0\0\0\0");
    expect(new DataView(mine.buffer, mine.byteOffset).getInt32(len.offset, true)).toBe(5);
    const flavors = cases.find((c) => c.name === "flavors")!;
    expect(expectedOutput(flavors)).toEqual(flavors.output);
  });
});

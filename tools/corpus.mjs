// `npm run corpus`: the kernel's BPF selftests (built by tools/selftests-corpus.mjs) loaded by @x and by
// libbpf (the libbpf of the same kernel source package, through tools/corpus/libbpf-harness.c), in one
// run: objects opened, loaded whole, programs loaded one at a time, and the annotated programs run as
// `xbpf test` runs them (the same runner, driving each loader), against their annotations.
//
// Usage: node tools/corpus.mjs [--only NAME,…] [--json FILE]   (npm run corpus: tools/corpus.sh, setup first)
// Prints a Markdown summary, then what each loader does that the other does not; the whole record goes to
// FILE (default .cache/corpus/last.json). Needs root. About 3 minutes on 2 cores once built.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { harness, libbpfTestLoader } from "./corpus/libbpf.mjs";
import { buildCorpus } from "./selftests-corpus.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const loader = await import(join(root, "packages/loader/dist/index.js"));
const sys = await import(join(root, "packages/sys/dist/index.js"));

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt("--only")?.split(",");
const jsonOut = opt("--json") ?? join(root, ".cache/corpus/last.json");

const dir = await buildCorpus({ only });
const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
const harnessPath = join(dir, "harness");
const objects = readdirSync(join(dir, "obj")).filter((f) => f.endsWith(".bpf.o")).sort();

const lib = (...argv) => harness(harnessPath, ...argv);

const firstLine = (e) => String(e?.message ?? e).split("\n")[0];
const runOptions = loader.testEnvironment();

const rows = [];
const started = Date.now();
for (const [i, f] of objects.entries()) {
  const path = join(dir, "obj", f);
  const row = { object: f, x: {}, lib: {} };
  let spec;
  try {
    spec = loader.openObject(path);
    row.x.open = true;
  } catch (e) {
    row.x.open = false;
    row.x.openError = firstLine(e);
  }
  const whole = lib("whole", path)[0];
  row.lib.open = whole.opened;
  row.lib.whole = whole.ok;
  if (!whole.ok) row.lib.wholeError = whole.error;
  if (spec) {
    try {
      spec.load().dispose();
      row.x.whole = true;
    } catch (e) {
      row.x.whole = false;
      row.x.wholeError = firstLine(e);
    }
  }
  row.lib.programs = Object.fromEntries(lib("progs", path).filter((p) => p.program).map((p) => [p.program, p.ok ? true : p.error]));
  row.x.programs = {};
  for (const p of spec?.programs ?? []) {
    try {
      loader.openObject(path).load({ programs: [p.name] }).dispose();
      row.x.programs[p.name] = true;
    } catch (e) {
      row.x.programs[p.name] = firstLine(e);
    }
  }
  if (spec?.btf && loader.hasTestAnnotations(spec.btf)) {
    const specs = loader.objectTestSpecs(spec.btf, spec.programs.map((p) => p.name));
    row.x.tests = await loader.runTests(specs, loader.objectTestLoader(path), runOptions);
    row.lib.tests = await loader.runTests(specs, libbpfTestLoader(harnessPath, path), runOptions);
  }
  rows.push(row);
  if (!only && i % 50 === 49) process.stderr.write(`corpus: ${i + 1}/${objects.length} objects, ${((Date.now() - started) / 60000).toFixed(1)} min\n`);
}

// Tally.
const count = (side, pick) => rows.reduce((n, r) => n + pick(r[side]), 0);
const progsOk = (s) => Object.values(s.programs ?? {}).filter((v) => v === true).length;
const tests = (s, pred) => (s.tests ?? []).filter(pred).length;
const agree = (t) => t.status === "pass";
const counted = (t) => t.status !== "skip";
const table = [
  ["objects compiled", objects.length, objects.length],
  ["objects opened", count("lib", (s) => (s.open ? 1 : 0)), count("x", (s) => (s.open ? 1 : 0))],
  ["objects loaded whole", count("lib", (s) => (s.whole ? 1 : 0)), count("x", (s) => (s.whole ? 1 : 0))],
  ["programs loaded one at a time", count("lib", progsOk), count("x", progsOk)],
  ["annotated tests run (not skipped)", count("lib", (s) => tests(s, counted)), count("x", (s) => tests(s, counted))],
  ["… whose outcome, log and retval match the annotations", count("lib", (s) => tests(s, agree)), count("x", (s) => tests(s, agree))],
];
console.log(`# Selftests corpus — ${new Date().toISOString().slice(0, 16)}Z\n`);
console.log(`linux-source ${manifest.kernel} selftests, clang-19 (${manifest.clang.replace(/^.*version /, "")}), vmlinux.h of ${manifest.vmlinux}, libbpf ${manifest.libbpf} of the same source; kernel ${sys.kernelVersion().release}; ${((Date.now() - started) / 60000).toFixed(1)} min.\n`);
const files = Object.values(manifest.files);
console.log(`${files.length} program files: ${files.filter((o) => o === "ok").length} compile, ${files.filter((o) => o === "without -Werror").length} only without -Werror, ${files.filter((o) => o.startsWith("failed")).length} do not.\n`);
console.log("| | libbpf | @x |\n|---|---:|---:|");
for (const [what, l, x] of table) console.log(`| ${what} | ${l} | ${x} |`);

const diff = [];
for (const r of rows) {
  if (r.lib.whole && !r.x.whole) diff.push(`object ${r.object}: libbpf loads it, @x: ${r.x.wholeError ?? r.x.openError}`);
  for (const [p, ok] of Object.entries(r.lib.programs ?? {})) if (ok === true && r.x.programs?.[p] !== true) diff.push(`program ${r.object}/${p}: libbpf loads it, @x: ${r.x.programs?.[p] ?? "not found"}`);
  const xt = new Map((r.x.tests ?? []).map((t) => [`${t.program}|${t.mode}`, t]));
  for (const t of r.lib.tests ?? []) {
    const o = xt.get(`${t.program}|${t.mode}`);
    if (t.status === "pass" && o?.status !== "pass") diff.push(`test ${r.object}/${t.name}: libbpf agrees with the annotations, @x: ${o?.reason ?? "not run"}`);
  }
}
const ahead = [];
for (const r of rows) {
  if (r.x.whole && !r.lib.whole) ahead.push(`object ${r.object}: @x loads it, libbpf: ${r.lib.wholeError}`);
  for (const [p, ok] of Object.entries(r.x.programs ?? {})) if (ok === true && r.lib.programs?.[p] !== true) ahead.push(`program ${r.object}/${p}: @x loads it, libbpf: ${r.lib.programs?.[p] ?? "not found"}`);
}
console.log(`\n## Where libbpf does what @x does not (${diff.length})\n`);
for (const d of diff) console.log(`- ${d}`);
console.log(`\n## Where @x does what libbpf does not (${ahead.length})\n`);
for (const d of ahead.slice(0, 200)) console.log(`- ${d}`);
if (ahead.length > 200) console.log(`- … and ${ahead.length - 200} more (${jsonOut})`);
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, JSON.stringify({ manifest, table, rows }, null, 1));

// libbpf's light skeleton of an object, built into a small C program (harness.c): `bpftool gen skeleton -L`
// writes the header, skel_internal.h (libbpf-dev) runs its loader program. The interop test reads what it
// creates; the loader-program benchmark times it.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const HARNESS = fileURLToPath(new URL("./harness.c", import.meta.url));
const BENCH_C = fileURLToPath(new URL("../../bench/c", import.meta.url));

/**
 * The light skeleton header of `object`, with what the harness does not need taken out: the typed
 * views of data sections (their C types are the BPF program's, in no header here) and the static
 * asserts on them.
 */
function header(object, name) {
  let h = execFileSync("bpftool", ["gen", "skeleton", "-L", object, "name", name], { encoding: "utf8", maxBuffer: 64 << 20 });
  h = h.replace(/struct (\w+__\w+) \{[^{}]*\} \*(\w+);/g, "struct $1 *$2;");
  const at = h.indexOf(`${name}__assert(struct ${name} *s`);
  if (at >= 0) h = h.slice(0, h.lastIndexOf("\n", h.lastIndexOf("\n", at) - 1) + 1) + h.slice(h.indexOf("\n}\n", at) + 3);
  return h;
}

export function buildLightSkeleton(object, name, dir) {
  const skel = name.replace(/[^A-Za-z0-9_]/g, "_");
  const sub = mkdtempSync(join(dir, `${skel}-`));
  writeFileSync(join(sub, "lskel.h"), header(object, skel));
  const exe = join(sub, "harness");
  execFileSync("gcc", ["-O2", "-Wall", "-Wno-unused-function", `-DSKEL=${skel}`, `-I${sub}`, `-I${BENCH_C}`, "-o", exe, HARNESS, "-lbpf"], { encoding: "utf8" });
  return {
    describe() {
      const r = spawnSync(exe, [], { encoding: "utf8", maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`light skeleton of ${name}: ${r.stderr.trim()}`);
      return r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    },
    time(n) {
      const r = spawnSync(exe, [String(n)], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`light skeleton of ${name}: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout).median_us;
    },
  };
}

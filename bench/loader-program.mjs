// Loader-program benchmark: per fixture, the median of N loads + closes three ways in one run:
// @x's direct load (openObject → load → dispose), @x's loader program run from its generated artefact
// (runLoaderProgram → close: what `xbpf gen loader`'s module does at run time) and libbpf's light skeleton
// (bpftool gen skeleton -L, skel_internal.h: <name>__open_and_load → <name>__destroy, tools/lskel/).
// Generation happens once, outside the timing, on both sides.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateLoaderProgram, openObject } from "../packages/loader/dist/index.js";
import { runLoaderProgram } from "../packages/sys/dist/loader-program.js";
import { buildLightSkeleton } from "../tools/lskel/build.mjs";
import { measure, N, now, ratio, root, table, tryLibbpf, us } from "./lib.mjs";

// Objects Debian's bpftool (libbpf 1.1) makes light skeletons of, and that load in a loop here.
const FIXTURES = ["example", "globals", "maps", "big", "core", "externs", "statics", "sk_lookup"];
const dir = mkdtempSync(join(tmpdir(), "xbpf-bench-lskel-"));
const rows = [];
const skipped = [];
try {
  for (const name of FIXTURES) {
    const path = `${root}fixtures/obj/${name}.bpf.o`;
    const bytes = new Uint8Array(readFileSync(path));
    let lp;
    let skel;
    try {
      lp = generateLoaderProgram(openObject(bytes, { name }));
      runLoaderProgram(lp).close();
      skel = buildLightSkeleton(path, name, dir);
    } catch (e) {
      skipped.push(`${name} (${e.message.split("\n")[0].slice(0, 100)})`);
      continue;
    }
    const direct = measure(N, () => {
      const t0 = now();
      openObject(bytes, { name }).load().dispose();
      return { total: now() - t0 };
    });
    const replay = measure(N, () => {
      const t0 = now();
      runLoaderProgram(lp).close();
      return { total: now() - t0 };
    });
    const lskel = skel.time(N);
    const { ref } = tryLibbpf("load", path, N);
    rows.push([
      name, us(replay.total), us(lskel), ratio(replay.total, lskel),
      us(direct.total), ref ? us(ref.total_us) : "–", ref ? ratio(direct.total, ref.total_us) : "–",
      ratio(replay.total, direct.total),
    ]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

table(
  `Loader program: load + close (median µs, N=${N}; the loader program and the light skeleton generated once, before timing)`,
  ["object", "@x loader program", "libbpf light skeleton", "ratio", "@x direct", "libbpf direct", "ratio", "@x loader program / @x direct"],
  rows,
);
if (skipped.length) console.log(`\nnot cases: ${skipped.join("; ")}`);

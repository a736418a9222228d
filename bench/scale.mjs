// Scale: fixtures/src/scale.bpf.c built with 50, 100 and 200 programs (and twice as many globals),
// opened (openObject vs bpf_object__open_mem) and opened + loaded + closed, @x beside libbpf; the
// per-program column shows whether the cost grows linearly with the number of programs.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { openObject } from "../packages/loader/dist/index.js";
import { measure, N, now, ratio, root, table, tryLibbpf, us } from "./lib.mjs";

const arch = execFileSync("gcc", ["-dumpmachine"], { encoding: "utf8" }).trim();
const rows = [];
for (const tens of [5, 10, 20]) {
  const programs = tens * 10;
  const path = `${root}bench/out/scale-${programs}.bpf.o`;
  execFileSync("clang-19", ["-O2", "-g", "-target", "bpf", `-I/usr/include/${arch}`, `-DTENS=${tens}`, "-c", `${root}fixtures/src/scale.bpf.c`, "-o", path]);
  const bytes = new Uint8Array(readFileSync(path));
  const nOpen = Math.max(20, Math.round(N / 10));
  const nLoad = Math.max(10, Math.round(N / 100));
  const open = measure(nOpen, () => {
    const t0 = now();
    openObject(bytes);
    return { t: now() - t0 };
  });
  const load = measure(nLoad, () => {
    const t0 = now();
    openObject(bytes).load().dispose();
    return { t: now() - t0 };
  });
  const refOpen = tryLibbpf("open", path, nOpen).ref;
  const refLoad = tryLibbpf("load", path, nLoad).ref;
  const refLoadUs = refLoad?.total_us;
  rows.push([`${programs} programs: openObject vs open_mem`, us(open.t), us(open.t / programs), refOpen ? us(refOpen.open_us) : "–", refOpen ? us(refOpen.open_us / programs) : "–", ratio(open.t, refOpen?.open_us)]);
  rows.push([`${programs} programs: open + load + close`, us(load.t), us(load.t / programs), refLoadUs ? us(refLoadUs) : "–", refLoadUs ? us(refLoadUs / programs) : "–", ratio(load.t, refLoadUs)]);
}
table(
  `Scale: scale.bpf.c with 50, 100, 200 programs and 2 globals each (median µs; open N=${Math.max(20, Math.round(N / 10))}, load N=${Math.max(10, Math.round(N / 100))})`,
  ["case", "@x µs", "@x µs/program", "libbpf µs", "libbpf µs/program", "ratio"],
  rows,
);

// Template workflow: change one configuration value of fixtures/obj/example.bpf.o
// (cfg.blocked_port = 8080) and have the new program loaded. @x edits the compiled object
// (set before load, or `xbpf patch`-style toElf + reopen); the reference recompiles the C
// source with clang-19 and loads it with libbpf. libbpf's own set-before-load (writing the
// .rodata initial image, as a skeleton does) is shown too, as the like-for-like figure.
import { readFileSync } from "node:fs";
import { openObject } from "../packages/loader/dist/index.js";
import { libbpf, measure, N, now, ratio, root, table, us } from "./lib.mjs";

const OBJ = `${root}fixtures/obj/example.bpf.o`;
const SRC = `${root}fixtures/src/example.bpf.c`;
const bytes = new Uint8Array(readFileSync(OBJ));
// Ethernet + IPv4 (UDP) + UDP to port 8080: dropped (TC_ACT_SHOT = 2) once cfg.blocked_port is 8080.
const packet = Buffer.from("ffffffffffff00000000000108004500001c0000400040110000c0a80001c0a80002303a1f9000080000", "hex");

function check(loaded, how) {
  const { retval } = loaded.program("classify").testRun({ data: new Uint8Array(packet) });
  if (retval !== 2) throw new Error(`${how}: the loaded program does not drop port 8080 (retval ${retval})`);
}

let last;
const setBeforeLoad = measure(N, () => {
  last?.dispose();
  const t0 = now();
  const spec = openObject(bytes);
  spec.set("cfg.blocked_port", 8080);
  last = spec.load();
  return { t: now() - t0 };
});
check(last, "set before load");
last.dispose();
last = undefined;

const patch = measure(N, () => {
  last?.dispose();
  const t0 = now();
  const spec = openObject(bytes);
  spec.set("cfg.blocked_port", 8080);
  last = openObject(spec.toElf()).load();
  return { t: now() - t0 };
});
check(last, "patch + reopen");
last.dispose();

const nc = Math.max(5, Math.round(N / 20));
const recompile = libbpf("recompile", SRC, nc);
const initval = libbpf("initval", OBJ, N);

table(
  `Template workflow: cfg.blocked_port = 8080, until the new program is loaded (median µs; N=${N}, recompile N=${nc})`,
  ["@x case vs reference", "@x µs", "ref µs", "ratio"],
  [
    ["set before load vs clang-19 recompile + libbpf load", us(setBeforeLoad.t), us(recompile.total_us), ratio(setBeforeLoad.t, recompile.total_us)],
    ["toElf + reopen + load vs clang-19 recompile + libbpf load", us(patch.t), us(recompile.total_us), ratio(patch.t, recompile.total_us)],
    ["set before load vs libbpf set before load (bpf_map__initial_value)", us(setBeforeLoad.t), us(initval.total_us), ratio(setBeforeLoad.t, initval.total_us)],
  ],
);
console.log(`\nreference recompile breakdown (median µs): clang-19 ${us(recompile.compile_us)}, open ${us(recompile.open_us)}, load ${us(recompile.load_us)}`);

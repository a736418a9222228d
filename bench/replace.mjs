// Replace benchmark: from a new configuration value to the new program live on K tc attachments
// (K = 1 and 1000 veth interfaces in a network namespace of the benchmark's own). @x sets `version`
// in counter.bpf.o's compiled object, loads it and updates every tcx link (BPF_LINK_UPDATE with
// BPF_F_REPLACE); the reference edits the C source, recompiles it with clang-19, loads it with libbpf
// and updates the same number of tcx links (bench/c/libbpf-replace.c).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { openObject, replaceProgram } from "../packages/loader/dist/index.js";
import { measure, N, now, ratio, root, table, us } from "./lib.mjs";

const OBJ = `${root}fixtures/obj/counter.bpf.o`;
const SRC = `${root}fixtures/src/counter.bpf.c`;
const replaceHarness = `${root}bench/out/libbpf-replace`;
const bytes = new Uint8Array(readFileSync(OBJ));

/** A namespace with K veth pairs, xb0..xb{K-1} (their peers xa…). */
function namespaceWith(k) {
  const netns = `xbpf-bench-${randomBytes(3).toString("hex")}`;
  execFileSync("ip", ["netns", "add", netns]);
  const lines = Array.from({ length: k }, (_, i) => `link add xb${i} type veth peer name xa${i}`).join("\n");
  execFileSync("ip", ["-n", netns, "-batch", "-"], { input: `${lines}\n` });
  return { netns, remove: () => execFileSync("ip", ["netns", "del", netns]) };
}

const rows = [];
for (const k of [1, 1000]) {
  const n = k === 1 ? Math.max(20, Math.round(N / 4)) : Math.max(5, Math.round(N / 40));
  const nRef = Math.max(5, Math.round(N / 40));
  const ns = namespaceWith(k);
  const pinRoot = mkdtempSync("/sys/fs/bpf/xbpf-bench-");
  try {
    const spec = openObject(bytes);
    let version = 0;
    let current = spec.load({ programs: ["count_tc"], pinRoot });
    const links = Array.from({ length: k }, (_, i) => current.program("count_tc").attach({ tc: { interface: `xb${i}`, direction: "ingress", netns: ns.netns, via: "link" } }));
    const update = measure(n, () => {
      const t0 = now();
      spec.set("version", ++version);
      const next = spec.load({ programs: ["count_tc"], pinRoot });
      const tl = now();
      for (const l of links) l.update(next.program("count_tc"));
      const t = now() - t0;
      current.dispose();
      current = next;
      return { t, load: tl - t0 };
    });
    let carried;
    if (k === 1) {
      // The whole replaceProgram: the old program found through the link, .bss reused, the swap.
      carried = measure(n, () => {
        const t0 = now();
        spec.set("version", ++version);
        const r = replaceProgram(links[0], spec, { program: "count_tc", pinRoot, reuseMaps: [".bss"] });
        const t = now() - t0;
        current.dispose();
        current = r.object;
        return { t };
      });
    }
    for (const l of links) l.close();
    current.dispose();
    const ref = JSON.parse(execFileSync(replaceHarness, [SRC, ns.netns, String(k), String(nRef), pinRoot], { encoding: "utf8" }));
    rows.push([`${k} attachment${k > 1 ? "s" : ""}: set + load + update`, us(update.t), us(ref.total_us), ratio(update.t, ref.total_us)]);
    if (carried) rows.push([`${k} attachment: replaceProgram (.bss reused)`, us(carried.t), us(ref.total_us), ratio(carried.t, ref.total_us)]);
    rows.push([`  of which: load / links updated`, `${us(update.load)} / ${us(update.t - update.load)}`, `${us(ref.compile_us + ref.load_us)} / ${us(ref.update_us)}`, ""]);
    console.error(`replace: K=${k} done (@x N=${n}, libbpf N=${nRef}; reference clang-19 ${us(ref.compile_us)} µs of it)`);
  } finally {
    rmSync(pinRoot, { recursive: true, force: true });
    ns.remove();
  }
}

table(
  `Replace: new configuration value to new program live on K tcx links (median µs; reference: clang-19 recompile + libbpf load + bpf_link_update)`,
  ["case", "@x µs", "ref µs", "ratio"],
  rows,
);
